-- 0015_alerts: a site's alert rules (joule.AlertRules as JSON; {} takes the defaults),
-- the pools a fleet's miners may hash for (a JSON array of URLs; []: any), the alerts
-- and each of their transitions, which wait in an outbox (delivered_at '') until
-- the leader has sent them to the site's webhooks.
ALTER TABLE sites ADD COLUMN alerts TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(alerts));
ALTER TABLE fleets ADD COLUMN pools TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(pools));

CREATE TABLE alerts (
	id          INTEGER PRIMARY KEY,
	site        TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	rule        TEXT NOT NULL,
	subject     TEXT NOT NULL,
	fleet       TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
	value       REAL NOT NULL,
	threshold   REAL NOT NULL,
	summary     TEXT NOT NULL,
	fired_at    TEXT NOT NULL,
	acked_at    TEXT NOT NULL DEFAULT '',
	acked_by    TEXT NOT NULL DEFAULT '',
	resolved_at TEXT NOT NULL DEFAULT ''
);
-- One open alert per (site, rule, subject): a condition that holds fires once.
CREATE UNIQUE INDEX alerts_open ON alerts (site, rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_site ON alerts (site, id);

CREATE TABLE alert_transitions (
	id           INTEGER PRIMARY KEY,
	alert        INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
	state        TEXT NOT NULL,
	at           TEXT NOT NULL,
	actor        TEXT NOT NULL DEFAULT '',
	value        REAL NOT NULL,
	delivered_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_transitions_alert ON alert_transitions (alert, id);
CREATE INDEX alert_transitions_outbox ON alert_transitions (id) WHERE delivered_at = '';
