-- 0002_live: demand-response events, dispatch plans and the audit log of live operations.

CREATE TABLE demand_responses (
	id          INTEGER PRIMARY KEY,
	site        TEXT    NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	reduce_to_w INTEGER NOT NULL CHECK (reduce_to_w >= 0),
	deadline    TEXT    NOT NULL,
	end_at      TEXT    NOT NULL DEFAULT '', -- '' means until cancelled
	created_at  TEXT    NOT NULL
);
CREATE INDEX demand_responses_site ON demand_responses (site, deadline);

-- A plan is stored whole as JSON (joule.SitePlan); seq increases per site.
CREATE TABLE plans (
	site TEXT    NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	seq  INTEGER NOT NULL,
	at   TEXT    NOT NULL,
	plan TEXT    NOT NULL CHECK (json_valid(plan)),
	PRIMARY KEY (site, seq)
);

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY,
	site   TEXT    NOT NULL,
	at     TEXT    NOT NULL,
	kind   TEXT    NOT NULL,
	seq    INTEGER NOT NULL DEFAULT 0,
	device TEXT    NOT NULL DEFAULT '',
	detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_site ON audit (site, id);
