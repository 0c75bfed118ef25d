-- 0005_site_costs: a site's own conversion costs from its manifest's `costs:` block
-- (joule.SiteCosts as JSON; {} when it declares none).
ALTER TABLE sites ADD COLUMN costs JSONB NOT NULL DEFAULT '{}';
