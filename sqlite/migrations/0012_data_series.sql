-- 0012_data_series: market series operators import (joule data import): BTC price,
-- difficulty, hashrate and fees per day, and wholesale nodes' energy prices.
--
-- A series is one row, its points in one blob (joule.EncodeDataPoints): it is only
-- ever read whole (a backtest or a plan reads every point) and replaced whole (an
-- import swaps the series at once), never queried by time, so a row per point would
-- cost a year of five-minute prices 105,000 inserts for nothing. count, first and last
-- are kept beside the blob so that a listing reads no points. Times are TEXT in UTC.
CREATE TABLE data_series (
	kind        TEXT NOT NULL,
	name        TEXT NOT NULL,
	source      TEXT NOT NULL,
	imported_at TEXT NOT NULL,
	count       INTEGER NOT NULL,
	first       TEXT NOT NULL,
	last        TEXT NOT NULL,
	points      BLOB NOT NULL,
	PRIMARY KEY (kind, name)
);
