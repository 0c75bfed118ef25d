-- 0005_live_ops: demand-response events an operator cancels, audit events with
-- structured fields a reader judges them by, and each site's newest device census.

-- '' while the event stands; a cancelled event's end_at is no later than this.
ALTER TABLE demand_responses ADD COLUMN cancelled_at TEXT NOT NULL DEFAULT '';

-- outcome is a joule.AuditOutcome, actor who acted ('agent', 'loop', 'operator');
-- rows from before this migration have ''.
ALTER TABLE audit ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN reason  TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN actor   TEXT NOT NULL DEFAULT '';

-- The census an agent reported last, whole as JSON (joule.DeviceReport): it is read
-- and replaced whole, one row per site.
CREATE TABLE device_reports (
	site   TEXT NOT NULL PRIMARY KEY REFERENCES sites (name) ON DELETE CASCADE,
	at     TEXT NOT NULL,
	report TEXT NOT NULL CHECK (json_valid(report))
);
