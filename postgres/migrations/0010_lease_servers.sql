-- 0010_lease_servers: leases are bound to servers, as the sqlite store keeps them
-- after its migration 0017.
--
-- A listing names its servers (listings.nodes, a JSON array of node names; '' when the
-- exchange names them itself); each share of a lease holds whole servers for all its
-- hours (lease_shares.servers, a JSON array, sorted); a lease that resold hours records
-- which servers went to which buyer for which hours (leases.resold, a JSON array of
-- joule.LeaseRelease). Rows stored before this migration have '': the exchange binds
-- such shares when it restores them.
ALTER TABLE listings ADD COLUMN nodes TEXT NOT NULL DEFAULT '';
ALTER TABLE lease_shares ADD COLUMN servers TEXT NOT NULL DEFAULT '';
ALTER TABLE leases ADD COLUMN resold TEXT NOT NULL DEFAULT '';
