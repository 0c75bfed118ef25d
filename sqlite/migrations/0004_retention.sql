-- 0004_retention: audit events are deleted by age (joule serve --retention).
CREATE INDEX audit_at ON audit (at);
