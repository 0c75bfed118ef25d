-- 0010_audit_keys: audit rows an agent may post twice, stamped with the server's time,
-- and demand-response events that say who declared them and whether they may shed
-- firm GPU load.

-- row_key is the agent's idempotency key ('' for rows the server writes itself): a row
-- posted twice, once before a crash and again from the agent's spool, is stored once.
ALTER TABLE audit ADD COLUMN row_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_site_key ON audit (site, row_key) WHERE row_key <> '';

-- recorded_at is when the server stored the row, by its clock; at is the agent's own
-- time (its device time). Rows from before this migration have ''.
ALTER TABLE audit ADD COLUMN recorded_at TEXT NOT NULL DEFAULT '';

-- The audit log is appended to and pruned by retention, never edited.
CREATE TRIGGER audit_never_edited BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are never edited');
END;

-- created_by is the account that declared the event ('' before this migration);
-- shed_firm, whether it may hold the site below its firm GPU leases.
ALTER TABLE demand_responses ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE demand_responses ADD COLUMN shed_firm INTEGER NOT NULL DEFAULT 0 CHECK (shed_firm IN (0, 1));
