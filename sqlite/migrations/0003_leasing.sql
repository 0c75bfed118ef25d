-- 0003_leasing: the GPU exchange. Accounts with hashed API tokens, the matcher's
-- products, listings, orders, leases (with the seller shares that cover them) and
-- fills, and the ledger's double-entry journal in integer micro-dollars.
--
-- Times are TEXT as in 0001 ('' for none). Money is INTEGER micro-USD, never REAL.

-- One row: the version every saved change increments (optimistic concurrency between
-- processes on one file) and the highest order and lease numbers ever issued.
CREATE TABLE leasing_meta (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	version        INTEGER NOT NULL,
	last_order_seq INTEGER NOT NULL,
	last_lease_seq INTEGER NOT NULL
);
INSERT INTO leasing_meta (id, version, last_order_seq, last_lease_seq) VALUES (1, 0, 0, 0);

-- token_hash is the hex SHA-256 of the account's API token; the token itself is never
-- stored. NULL: no token issued.
CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('tenant', 'owner', 'operator')),
	token_hash TEXT UNIQUE CHECK (token_hash IS NULL OR length(token_hash) = 64),
	created_at TEXT NOT NULL
);

CREATE TABLE products (
	id            TEXT PRIMARY KEY,
	model         TEXT    NOT NULL,
	site          TEXT    NOT NULL,
	gpus_per_node INTEGER NOT NULL CHECK (gpus_per_node > 0)
);

CREATE TABLE listings (
	product          TEXT    NOT NULL REFERENCES products (id),
	seller           TEXT    NOT NULL REFERENCES accounts (id),
	servers          INTEGER NOT NULL CHECK (servers >= 0),
	start_at         TEXT    NOT NULL,
	end_at           TEXT    NOT NULL DEFAULT '',
	ask              INTEGER NOT NULL CHECK (ask >= 0), -- micro-USD per GPU-hour
	opportunity_cost INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (product, seller)
);

CREATE TABLE orders (
	id              TEXT PRIMARY KEY,
	account         TEXT    NOT NULL REFERENCES accounts (id),
	idempotency_key TEXT    NOT NULL,
	product         TEXT    NOT NULL REFERENCES products (id),
	kind            TEXT    NOT NULL,
	gpus            INTEGER NOT NULL CHECK (gpus > 0),
	start_at        TEXT    NOT NULL DEFAULT '',
	end_at          TEXT    NOT NULL DEFAULT '',
	limit_price     INTEGER NOT NULL CHECK (limit_price >= 0), -- micro-USD per GPU-hour
	all_or_none     INTEGER NOT NULL,
	class           TEXT    NOT NULL DEFAULT '',
	notice_sec      INTEGER NOT NULL DEFAULT 0,
	resale_of       TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL,
	filled_gpus     INTEGER NOT NULL DEFAULT 0,
	sold_gpu_hours  INTEGER NOT NULL DEFAULT 0,
	created_at      TEXT    NOT NULL,
	expires_at      TEXT    NOT NULL DEFAULT '',
	seq             INTEGER NOT NULL, -- submission order: time priority among equal times
	UNIQUE (account, idempotency_key)
);
CREATE INDEX orders_resting ON orders (status) WHERE status IN ('open', 'partially_filled');
CREATE UNIQUE INDEX orders_seq ON orders (seq);
CREATE INDEX orders_created ON orders (created_at, seq);
CREATE INDEX orders_account ON orders (account, seq);

CREATE TABLE leases (
	id         TEXT PRIMARY KEY,
	order_id   TEXT    NOT NULL REFERENCES orders (id),
	tenant     TEXT    NOT NULL REFERENCES accounts (id),
	product    TEXT    NOT NULL REFERENCES products (id),
	class      TEXT    NOT NULL,
	notice_sec INTEGER NOT NULL DEFAULT 0,
	gpus       INTEGER NOT NULL CHECK (gpus > 0),
	start_at   TEXT    NOT NULL,
	end_at     TEXT    NOT NULL,
	open_ended INTEGER NOT NULL,
	price      INTEGER NOT NULL, -- GPU-hour-weighted mean, micro-USD per GPU-hour
	status     TEXT    NOT NULL,
	notice_at  TEXT    NOT NULL DEFAULT '',
	seq        INTEGER NOT NULL  -- creation order
);
CREATE UNIQUE INDEX leases_seq ON leases (seq);
CREATE INDEX leases_tenant ON leases (tenant, seq);
CREATE INDEX leases_end ON leases (end_at);
CREATE INDEX leases_order ON leases (order_id);

-- The capacity that covers a lease: GPUs of one seller's servers (or of one resale
-- order) for hour slots [start_at, end_at) at one price.
CREATE TABLE lease_shares (
	lease        TEXT    NOT NULL REFERENCES leases (id) ON DELETE CASCADE,
	seq          INTEGER NOT NULL,
	seller       TEXT    NOT NULL,
	resale_order TEXT    NOT NULL DEFAULT '',
	gpus         INTEGER NOT NULL CHECK (gpus > 0),
	start_at     TEXT    NOT NULL,
	end_at       TEXT    NOT NULL,
	price        INTEGER NOT NULL,
	PRIMARY KEY (lease, seq)
);
CREATE INDEX lease_shares_seller ON lease_shares (seller);

CREATE TABLE fills (
	id           INTEGER PRIMARY KEY,
	at           TEXT    NOT NULL,
	product      TEXT    NOT NULL,
	order_id     TEXT    NOT NULL,
	lease        TEXT    NOT NULL,
	seller       TEXT    NOT NULL,
	resale_order TEXT    NOT NULL DEFAULT '',
	gpus         INTEGER NOT NULL,
	start_at     TEXT    NOT NULL,
	end_at       TEXT    NOT NULL,
	price        INTEGER NOT NULL
);
CREATE INDEX fills_product ON fills (product, id);

-- The journal: IDs run 1, 2, … in the order the ledger wrote them; the postings of a
-- transaction sum to zero (checked on every save).
CREATE TABLE ledger_transactions (
	id       INTEGER PRIMARY KEY,
	key      TEXT NOT NULL DEFAULT '',
	kind     TEXT NOT NULL,
	at       TEXT NOT NULL,
	tenant   TEXT NOT NULL DEFAULT '',
	order_id TEXT NOT NULL DEFAULT '',
	lease    TEXT NOT NULL DEFAULT '',
	memo     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ledger_transactions_key ON ledger_transactions (key) WHERE key != '';

CREATE TABLE ledger_postings (
	tx      INTEGER NOT NULL REFERENCES ledger_transactions (id),
	seq     INTEGER NOT NULL,
	account TEXT    NOT NULL,
	amount  INTEGER NOT NULL CHECK (amount != 0), -- micro-USD
	PRIMARY KEY (tx, seq)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account);
