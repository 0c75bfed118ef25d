-- 0013_site_costs: a site's own conversion costs from its manifest's `costs:` block
-- (joule.SiteCosts as JSON; {} when it declares none).
ALTER TABLE sites ADD COLUMN costs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(costs));
