# Joule's build. `make run` serves the dashboard and a demo site on the embedded store;
# `make test` is what CI runs.
GO      ?= go
DB      ?= ./joule-demo.db
ADDR    ?= 127.0.0.1:8080
PKGS    := ./...
# The dashboard's chart library, from web/package-lock.json, embedded into the binary.
CHARTJS := http/static/vendor/chart.umd.min.js

.PHONY: run build test check bench fuzz clean web

run: build
	./bin/joule serve --demo --db $(DB) --addr $(ADDR)

build: web
	$(GO) build -o bin/joule ./cmd/joule

test: web
	$(GO) test -race -count=1 $(PKGS)

# web installs the dashboard's vendor library (only when node_modules is missing or
# older than the lock file) and copies it where the server embeds it.
web: $(CHARTJS)

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

$(CHARTJS): web/node_modules/.package-lock.json
	@mkdir -p $(@D)
	cp web/node_modules/chart.js/dist/chart.umd.min.js $@

check: web
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) mod tidy -diff
	$(GO) test -count=1 -run 'TestPackageBoundaries' .

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# fuzz runs every fuzz target of every package for FUZZTIME each (the API's write
# routes, the manifest, the miner and meter protocols, the price feeds, the market
# data imports), one after another.
FUZZTIME ?= 30s
FUZZPKGS := ./http ./manifest ./cgminer ./gpuapi ./meter ./feeds ./addrrange ./history ./slurm ./redfish
fuzz: web
	@set -e; for pkg in $(FUZZPKGS); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
		done; \
	done

clean:
	rm -rf bin http/static/vendor
