-- 0011_audit_device: a device's audit trail (joule audit --device, the API's device=)
-- is read by the device, newest first, without scanning the site's whole log.
CREATE INDEX audit_site_device ON audit (site, device, id);
