-- 0013_cap_terms: how far a product's leases that may be interrupted (spot and
-- curtailable) may have their servers' power capped before they are stopped, and what
-- a capped GPU-hour costs (joule.CapTerms): cap_frac of the servers' nameplate power,
-- capped hours billed at capped_price_bps of the lease's price. 0 and 0: never capped.
ALTER TABLE products ADD COLUMN cap_frac DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (cap_frac >= 0 AND cap_frac < 1);
ALTER TABLE products ADD COLUMN capped_price_bps INTEGER NOT NULL DEFAULT 0 CHECK (capped_price_bps >= 0 AND capped_price_bps <= 10000);
