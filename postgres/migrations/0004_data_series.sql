-- 0004_data_series: market series operators import (joule data import), as the sqlite
-- store holds them after its migration 0012: one row a series, its points in one
-- blob (joule.EncodeDataPoints), since a series is only read and replaced whole.
-- Times are TEXT as in 0001.
CREATE TABLE data_series (
	kind        TEXT COLLATE "C" NOT NULL,
	name        TEXT COLLATE "C" NOT NULL,
	source      TEXT             NOT NULL,
	imported_at TEXT COLLATE "C" NOT NULL,
	count       BIGINT           NOT NULL,
	first       TEXT COLLATE "C" NOT NULL,
	last        TEXT COLLATE "C" NOT NULL,
	points      BYTEA            NOT NULL,
	PRIMARY KEY (kind, name)
);
