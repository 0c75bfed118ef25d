-- Viewers read the control plane, and an agent runs one site's devices: two more
-- roles, and the site an agent runs. SQLite cannot change a CHECK constraint in place,
-- so the table is built again (migrations run with foreign keys off, and are checked
-- before they commit).
CREATE TABLE accounts_0007 (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('tenant', 'owner', 'operator', 'viewer', 'agent')),
	site       TEXT CHECK ((role = 'agent') = (site IS NOT NULL)),
	token_hash TEXT UNIQUE CHECK (token_hash IS NULL OR length(token_hash) = 64),
	created_at TEXT NOT NULL
);

INSERT INTO accounts_0007 (id, name, role, site, token_hash, created_at)
	SELECT id, name, role, NULL, token_hash, created_at FROM accounts;

DROP TABLE accounts;

ALTER TABLE accounts_0007 RENAME TO accounts;
