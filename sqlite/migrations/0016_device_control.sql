-- 0016_device_control: device tags, operators' bulk actions and the holds they put on
-- devices (joule.DeviceControlService).
--
-- A tag is keyed by the device's address, not by its telemetry row: a device may be
-- tagged (by the manifest, say) before it reports. A key set live (source 'api') wins
-- over the manifest's of the same key on the same device; applying a manifest again
-- replaces only the rows of source 'manifest'.
CREATE TABLE device_tags (
	site    TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	address TEXT NOT NULL,
	key     TEXT NOT NULL,
	source  TEXT NOT NULL CHECK (source IN ('manifest', 'api')),
	value   TEXT NOT NULL,
	PRIMARY KEY (site, address, key, source)
) WITHOUT ROWID;

-- The device table's tag filter (tag:rack=A12) reads the devices of one tag off this.
CREATE INDEX device_tags_value ON device_tags (site, key, value, address);

-- An action's devices are a JSON array of addresses; its failures a JSON array of
-- {address, error}, at most joule.MaxActionFailures.
CREATE TABLE device_actions (
	id         INTEGER PRIMARY KEY,
	site       TEXT    NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	kind       TEXT    NOT NULL,
	addresses  TEXT    NOT NULL,
	limit_w    INTEGER NOT NULL,
	pool_url   TEXT    NOT NULL,
	pool_user  TEXT    NOT NULL,
	by         TEXT    NOT NULL,
	created_at TEXT    NOT NULL,
	status     TEXT    NOT NULL CHECK (status IN ('pending', 'done')),
	done_at    TEXT    NOT NULL,
	sent       INTEGER NOT NULL,
	verified   INTEGER NOT NULL,
	failed     INTEGER NOT NULL,
	failures   TEXT    NOT NULL
);

CREATE INDEX device_actions_site ON device_actions (site, status, id);

-- A hold keeps the device's fleet as the device table knew it when the action was
-- asked ('' for a device that had not reported yet, whose fleet is looked up when the
-- holds are read): the dispatch loop plans each fleet without its machines held asleep.
CREATE TABLE device_holds (
	site      TEXT    NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	address   TEXT    NOT NULL,
	fleet     TEXT    NOT NULL,
	hold      TEXT    NOT NULL CHECK (hold IN ('sleep', 'power')),
	limit_w   INTEGER NOT NULL,
	action_id INTEGER NOT NULL,
	since     TEXT    NOT NULL,
	by        TEXT    NOT NULL,
	PRIMARY KEY (site, address)
) WITHOUT ROWID;
