-- 0009_lease_end: why each lease ended (joule.LeaseEnd), and who stopped it. Leases
-- that ended before this migration say so only where their status does: a preempted
-- one was preempted; for the others the reason was not recorded ('').
ALTER TABLE leases ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE leases ADD COLUMN ended_by   TEXT NOT NULL DEFAULT '';
UPDATE leases SET end_reason = 'preempted' WHERE status = 'preempted';
