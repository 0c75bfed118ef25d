-- 0012_fill_priority: whose listing fills first in a product when listings ask the
-- same price (joule.FillPriority: time, owners-first, operator-first).
ALTER TABLE products ADD COLUMN fill_priority TEXT COLLATE "C" NOT NULL DEFAULT 'time'
	CHECK (fill_priority IN ('time', 'owners-first', 'operator-first'));
