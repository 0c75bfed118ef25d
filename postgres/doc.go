// Package postgres speaks PostgreSQL: it is Joule's store for sites that run more than
// one control-plane process against one database, on github.com/jackc/pgx/v5. It
// migrates the schema itself on Open from the SQL files embedded under migrations/.
//
// It implements every store interface the control plane has: SiteService,
// FleetService, HardwareService (the user-declared models), ManifestService,
// LiveService (demand-response events, plans, the audit log with agents' idempotency
// keys, device reports and pruning) and LeasingStore (accounts, API tokens, products,
// listings, orders, leases, fills and the ledger journal, with the version check that
// keeps two processes from overwriting each other's exchange), each passing the
// storetest conformance suite; `--db postgres://…` opens it.
//
// Several `joule serve` replicas share one database: Elector elects the one that
// leads, and Fence makes every write of a replica's DB carry its epoch, so that only the
// current leader writes (leader.go).
//
// Times are stored as TEXT in the very format the sqlite package uses (UTC, nanoseconds
// at a fixed width, empty for none), in columns with the "C" collation, so stored times
// sort as they compare whatever the database's locale and a row copies between the two
// stores unchanged. JSON documents (energy models, plans, device reports) are JSONB.
//
// Writers queue on one transaction-scoped advisory lock, as SQLite's writers queue on
// its database lock: a manifest applied by two processes at once is applied one after
// the other, and the second finds the first's rows. Readers take a REPEATABLE READ
// snapshot and never wait for writers.
//
// Errors keep sqlite's codes: a unique violation is ECONFLICT, a check, foreign-key or
// not-null violation EINVALID, and a full disk (SQLSTATE 53100) EUNAVAILABLE, to be
// retried once there is room.
package postgres
