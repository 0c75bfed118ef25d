-- 0014_telemetry: the telemetry history of every device (joule.TelemetryService).
--
-- telemetry_devices holds each device's latest sample: the device table reads it
-- alone. The three tiers of history (raw samples, five-minute and hourly rollups) are
-- keyed by (device, at), WITHOUT ROWID so that the key is the row's place in the
-- table and a device's range is one contiguous read. Times are unix milliseconds,
-- hashrates whole GH/s, temperatures tenths of a degree, states joule.StateCode.
CREATE TABLE telemetry_devices (
	id               INTEGER PRIMARY KEY,
	site             TEXT    NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	address          TEXT    NOT NULL,
	fleet            TEXT    NOT NULL,
	at               INTEGER NOT NULL,
	state            INTEGER NOT NULL,
	power_w          INTEGER NOT NULL,
	ghs              INTEGER NOT NULL,
	expected_ghs     INTEGER NOT NULL,
	deci_c           INTEGER NOT NULL,
	chip_deci_c      INTEGER NOT NULL,
	fan_min          INTEGER NOT NULL,
	fan_max          INTEGER NOT NULL,
	hw_errors        INTEGER NOT NULL,
	pool             TEXT    NOT NULL,
	pool_state       TEXT    NOT NULL,
	firmware         TEXT    NOT NULL,
	firmware_version TEXT    NOT NULL,
	-- What a search of the table looks in, lower-cased (ASCII) once when written.
	search           TEXT    GENERATED ALWAYS AS (lower(address || char(10) || fleet || char(10) || firmware || char(10) || pool)) STORED,
	UNIQUE (site, address)
);

-- The device table's sorts, each on the site then its key then the address (ties go
-- in the key's order), so that a page of a sorted table is read off an index.
CREATE INDEX telemetry_devices_fleet ON telemetry_devices (site, fleet, address);
CREATE INDEX telemetry_devices_firmware ON telemetry_devices (site, firmware, address);
CREATE INDEX telemetry_devices_pool ON telemetry_devices (site, pool, address);
CREATE INDEX telemetry_devices_state ON telemetry_devices (site, state, address);
CREATE INDEX telemetry_devices_temp ON telemetry_devices (site, deci_c, address);
CREATE INDEX telemetry_devices_hashrate ON telemetry_devices (site, (CASE WHEN expected_ghs > 0 THEN CAST(ghs AS REAL) / expected_ghs ELSE -1 END), address);

CREATE TABLE telemetry_raw (
	device       INTEGER NOT NULL,
	at           INTEGER NOT NULL,
	state        INTEGER NOT NULL,
	power_w      INTEGER NOT NULL,
	ghs          INTEGER NOT NULL,
	expected_ghs INTEGER NOT NULL,
	deci_c       INTEGER NOT NULL,
	chip_deci_c  INTEGER NOT NULL,
	fan_min      INTEGER NOT NULL,
	fan_max      INTEGER NOT NULL,
	hw_errors    INTEGER NOT NULL,
	PRIMARY KEY (device, at)
) WITHOUT ROWID;

-- A rollup tier holds a row per device and unit of time (an hour of five-minute
-- points, a day of hourly ones; at is the unit's start), its points packed in a blob
-- (joule.EncodeRollups): a point costs its figures, not a row's key and header.
CREATE TABLE telemetry_5m (
	device INTEGER NOT NULL,
	at     INTEGER NOT NULL,
	points BLOB    NOT NULL,
	PRIMARY KEY (device, at)
) WITHOUT ROWID;

CREATE TABLE telemetry_1h (
	device INTEGER NOT NULL,
	at     INTEGER NOT NULL,
	points BLOB    NOT NULL,
	PRIMARY KEY (device, at)
) WITHOUT ROWID;

-- A device removed (its site deleted, or nothing of it left in any tier) takes its
-- history with it.
CREATE TRIGGER telemetry_device_gone AFTER DELETE ON telemetry_devices BEGIN
	DELETE FROM telemetry_raw WHERE device = old.id;
	DELETE FROM telemetry_5m WHERE device = old.id;
	DELETE FROM telemetry_1h WHERE device = old.id;
END;

-- How far each tier is rolled up: the end (unix ms) of its newest bucket written.
CREATE TABLE telemetry_rollups (
	tier    TEXT    PRIMARY KEY,
	through INTEGER NOT NULL
);
