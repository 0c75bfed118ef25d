-- 0011_power_readings: every census's power, the site meter's beside the devices' own
-- sum (joule.PowerReading), so that a demand-response event's evidence has both series
-- through it. Times are unix milliseconds; meter_w is NULL when the census carried no
-- meter reading that answered; fleets is the JSON list of joule.FleetPower. Kept as
-- long as the audit log (Prune).
CREATE TABLE power_readings (
	site      TEXT COLLATE "C" NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
	at        BIGINT           NOT NULL,
	meter_w   BIGINT,
	devices_w BIGINT           NOT NULL,
	fleets    JSONB            NOT NULL,
	PRIMARY KEY (site, at)
);
