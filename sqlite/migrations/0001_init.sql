-- 0001_init: sites, user-declared hardware models, fleets and devices.
--
-- Times are TEXT in UTC with nanoseconds at a fixed width
-- ("2006-01-02T15:04:05.000000000Z"), so they read well in the sqlite3 shell
-- and sort as they compare. Money and analytics figures from manifests are REAL
-- (USD); power is INTEGER watts.

CREATE TABLE sites (
	name        TEXT PRIMARY KEY,
	power_cap_w INTEGER NOT NULL CHECK (power_cap_w > 0),
	pue         REAL    NOT NULL,
	energy      TEXT    NOT NULL CHECK (json_valid(energy)), -- joule.EnergyPriceModel as JSON
	market_node TEXT    NOT NULL DEFAULT '',
	location    TEXT    NOT NULL DEFAULT '',
	created_at  TEXT    NOT NULL,
	updated_at  TEXT    NOT NULL
);

-- Only the models users declare live here; the embedded catalog is not stored.
CREATE TABLE models (
	id            TEXT PRIMARY KEY,
	kind          TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	vendor        TEXT    NOT NULL DEFAULT '',
	power_w       INTEGER NOT NULL,
	idle_w        INTEGER NOT NULL,
	hashrate_ths  REAL    NOT NULL DEFAULT 0,
	gpus          INTEGER NOT NULL DEFAULT 0,
	gpu_model     TEXT    NOT NULL DEFAULT '',
	gpu_memory_gb INTEGER NOT NULL DEFAULT 0,
	price_usd     REAL    NOT NULL DEFAULT 0,
	sources       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(sources)), -- field name -> source
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL
);

-- A fleet's model is not a foreign key: it may name a built-in catalog model,
-- which is not stored. Whoever applies a manifest checks the reference.
CREATE TABLE fleets (
	site           TEXT    NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	name           TEXT    NOT NULL,
	model          TEXT    NOT NULL,
	kind           TEXT    NOT NULL DEFAULT '',
	count          INTEGER NOT NULL CHECK (count > 0),
	owner          TEXT    NOT NULL DEFAULT '',
	unit_price_usd REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (site, name)
);

-- Devices are the individual machines live operations talk to. The fleet is a
-- plain name, not a foreign key, so that re-declaring fleets never deletes the
-- devices found on the network.
CREATE TABLE devices (
	id         INTEGER PRIMARY KEY,
	site       TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	fleet      TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL,
	address    TEXT NOT NULL DEFAULT '', -- host:port of the device's control interface
	model      TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	UNIQUE (site, name)
);
