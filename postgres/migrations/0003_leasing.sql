-- 0003_leasing: the GPU exchange, as the sqlite store holds it after its own
-- migrations. Accounts with their API tokens, the matcher's products, listings,
-- orders, leases (with the seller shares that cover them) and fills, and the ledger's
-- double-entry journal in integer micro-dollars.
--
-- Times are TEXT as in 0001 ('' for none, or NULL where a column says so). Money is
-- BIGINT micro-USD, never a float.

-- One row: the version every saved change increments (optimistic concurrency between
-- processes on one database) and the highest order and lease numbers ever issued.
CREATE TABLE leasing_meta (
	id             BIGINT PRIMARY KEY CHECK (id = 1),
	version        BIGINT NOT NULL,
	last_order_seq BIGINT NOT NULL,
	last_lease_seq BIGINT NOT NULL
);
INSERT INTO leasing_meta (id, version, last_order_seq, last_lease_seq) VALUES (1, 0, 0, 0);

-- site is the site an agent runs, and only an agent's.
CREATE TABLE accounts (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('tenant', 'owner', 'operator', 'viewer', 'agent')),
	site       TEXT CHECK ((role = 'agent') = (site IS NOT NULL)),
	created_at TEXT COLLATE "C" NOT NULL
);

-- hash is the hex SHA-256 of the token, never the token itself. expires_at NULL:
-- never; revoked_at NULL: not revoked. created_by is the account that issued it. n is
-- the order tokens were stored in, which lists of equal created_at keep.
CREATE TABLE tokens (
	n          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	id         TEXT COLLATE "C" PRIMARY KEY,
	account    TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	name       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
	created_at TEXT COLLATE "C" NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	expires_at TEXT COLLATE "C",
	revoked_at TEXT COLLATE "C"
);
CREATE INDEX tokens_account ON tokens (account, created_at);

CREATE TABLE products (
	id            TEXT COLLATE "C" PRIMARY KEY,
	model         TEXT   NOT NULL,
	site          TEXT   NOT NULL,
	gpus_per_node BIGINT NOT NULL CHECK (gpus_per_node > 0)
);

-- n is the order listings were first stored in, which lists keep within a product.
CREATE TABLE listings (
	n                BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	product          TEXT COLLATE "C" NOT NULL REFERENCES products (id),
	seller           TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	servers          BIGINT NOT NULL CHECK (servers >= 0),
	start_at         TEXT COLLATE "C" NOT NULL,
	end_at           TEXT COLLATE "C" NOT NULL DEFAULT '',
	ask              BIGINT NOT NULL CHECK (ask >= 0), -- micro-USD per GPU-hour
	opportunity_cost BOOLEAN NOT NULL DEFAULT FALSE, -- the ask is the site's opportunity cost
	PRIMARY KEY (product, seller)
);

CREATE TABLE orders (
	id              TEXT COLLATE "C" PRIMARY KEY,
	account         TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	idempotency_key TEXT    NOT NULL,
	product         TEXT COLLATE "C" NOT NULL REFERENCES products (id),
	kind            TEXT    NOT NULL,
	gpus            BIGINT  NOT NULL CHECK (gpus > 0),
	start_at        TEXT COLLATE "C" NOT NULL DEFAULT '',
	end_at          TEXT COLLATE "C" NOT NULL DEFAULT '',
	limit_price     BIGINT  NOT NULL CHECK (limit_price >= 0), -- micro-USD per GPU-hour
	all_or_none     BOOLEAN NOT NULL,
	class           TEXT    NOT NULL DEFAULT '',
	notice_sec      BIGINT  NOT NULL DEFAULT 0,
	resale_of       TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL,
	filled_gpus     BIGINT  NOT NULL DEFAULT 0,
	sold_gpu_hours  BIGINT  NOT NULL DEFAULT 0,
	created_at      TEXT COLLATE "C" NOT NULL,
	expires_at      TEXT COLLATE "C" NOT NULL DEFAULT '',
	seq             BIGINT  NOT NULL, -- submission order: time priority among equal times
	UNIQUE (account, idempotency_key)
);
CREATE INDEX orders_resting ON orders (status) WHERE status IN ('open', 'partially_filled');
CREATE UNIQUE INDEX orders_seq ON orders (seq);
CREATE INDEX orders_created ON orders (created_at, seq);
CREATE INDEX orders_account ON orders (account, seq);

-- end_reason is why the lease ended (joule.LeaseEnd), ended_by who stopped it.
CREATE TABLE leases (
	id         TEXT COLLATE "C" PRIMARY KEY,
	order_id   TEXT COLLATE "C" NOT NULL REFERENCES orders (id),
	tenant     TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	product    TEXT COLLATE "C" NOT NULL REFERENCES products (id),
	class      TEXT    NOT NULL,
	notice_sec BIGINT  NOT NULL DEFAULT 0,
	gpus       BIGINT  NOT NULL CHECK (gpus > 0),
	start_at   TEXT COLLATE "C" NOT NULL,
	end_at     TEXT COLLATE "C" NOT NULL,
	open_ended BOOLEAN NOT NULL,
	price      BIGINT  NOT NULL, -- GPU-hour-weighted mean, micro-USD per GPU-hour
	status     TEXT    NOT NULL,
	notice_at  TEXT COLLATE "C" NOT NULL DEFAULT '',
	seq        BIGINT  NOT NULL, -- creation order
	end_reason TEXT    NOT NULL DEFAULT '',
	ended_by   TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX leases_seq ON leases (seq);
CREATE INDEX leases_tenant ON leases (tenant, seq);
CREATE INDEX leases_end ON leases (end_at);
CREATE INDEX leases_order ON leases (order_id);

-- The capacity that covers a lease: GPUs of one seller's servers (or of one resale
-- order) for hour slots [start_at, end_at) at one price.
CREATE TABLE lease_shares (
	lease        TEXT COLLATE "C" NOT NULL REFERENCES leases (id) ON DELETE CASCADE,
	seq          BIGINT NOT NULL,
	seller       TEXT COLLATE "C" NOT NULL,
	resale_order TEXT   NOT NULL DEFAULT '',
	gpus         BIGINT NOT NULL CHECK (gpus > 0),
	start_at     TEXT COLLATE "C" NOT NULL,
	end_at       TEXT COLLATE "C" NOT NULL,
	price        BIGINT NOT NULL,
	PRIMARY KEY (lease, seq)
);
CREATE INDEX lease_shares_seller ON lease_shares (seller);

CREATE TABLE fills (
	id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	at           TEXT COLLATE "C" NOT NULL,
	product      TEXT COLLATE "C" NOT NULL,
	order_id     TEXT   NOT NULL,
	lease        TEXT   NOT NULL,
	seller       TEXT   NOT NULL,
	resale_order TEXT   NOT NULL DEFAULT '',
	gpus         BIGINT NOT NULL,
	start_at     TEXT COLLATE "C" NOT NULL,
	end_at       TEXT COLLATE "C" NOT NULL,
	price        BIGINT NOT NULL
);
CREATE INDEX fills_product ON fills (product, id);

-- The journal: IDs run 1, 2, … in the order the ledger wrote them; the postings of a
-- transaction sum to zero (checked on every save).
CREATE TABLE ledger_transactions (
	id       BIGINT PRIMARY KEY,
	key      TEXT NOT NULL DEFAULT '',
	kind     TEXT NOT NULL,
	at       TEXT COLLATE "C" NOT NULL,
	tenant   TEXT NOT NULL DEFAULT '',
	order_id TEXT NOT NULL DEFAULT '',
	lease    TEXT NOT NULL DEFAULT '',
	memo     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ledger_transactions_key ON ledger_transactions (key) WHERE key != '';
CREATE INDEX ledger_transactions_at ON ledger_transactions (at); -- billing reads a month at a time

CREATE TABLE ledger_postings (
	tx      BIGINT NOT NULL REFERENCES ledger_transactions (id),
	seq     BIGINT NOT NULL,
	account TEXT COLLATE "C" NOT NULL,
	amount  BIGINT NOT NULL CHECK (amount != 0), -- micro-USD
	PRIMARY KEY (tx, seq)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account);
