-- 0008_tokens: an account holds any number of API tokens, each with a name, an expiry
-- and a revocation, in place of the one token_hash an account had. Each token an
-- account had becomes its token "default", without expiry; accounts is built again
-- without the column, as 0007 did (migrations run with foreign keys off, and are
-- checked before they commit).
--
-- hash is the hex SHA-256 of the token, never the token itself. expires_at NULL: never;
-- revoked_at NULL: not revoked. created_by is the account that issued the token, ''
-- for the tokens moved here, whose issuer no one recorded.
CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	account    TEXT NOT NULL REFERENCES accounts (id),
	name       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	expires_at TEXT,
	revoked_at TEXT
);
CREATE INDEX tokens_account ON tokens (account, created_at);

INSERT INTO tokens (id, account, name, hash, created_at)
	SELECT 'tok_' || lower(hex(randomblob(8))), id, 'default', token_hash, created_at
	FROM accounts WHERE token_hash IS NOT NULL;

CREATE TABLE accounts_0008 (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('tenant', 'owner', 'operator', 'viewer', 'agent')),
	site       TEXT CHECK ((role = 'agent') = (site IS NOT NULL)),
	created_at TEXT NOT NULL
);

INSERT INTO accounts_0008 (id, name, role, site, created_at)
	SELECT id, name, role, site, created_at FROM accounts;

DROP TABLE accounts;

ALTER TABLE accounts_0008 RENAME TO accounts;
