# Joule's build. `make run` serves on the embedded store; `make test` is what CI runs.
GO      ?= go
DB      ?= ./joule.db
ADDR    ?= 127.0.0.1:8080
PKGS    := ./...

.PHONY: run build test check bench fuzz clean

run: build
	./bin/joule serve --db $(DB) --addr $(ADDR)

build:
	$(GO) build -o bin/joule ./cmd/joule

test:
	$(GO) test -race -count=1 $(PKGS)

check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) mod tidy -diff
	$(GO) test -count=1 -run 'TestPackageBoundaries' .

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 5s ./manifest

clean:
	rm -rf bin
