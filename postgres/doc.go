// Package postgres speaks PostgreSQL: it is Joule's store for sites that run more than
// one control-plane process against one database, on github.com/jackc/pgx/v5. It
// migrates the schema itself on Open from the SQL files embedded under migrations/.
//
// So far it covers the declared world and live operations: SiteService, FleetService,
// HardwareService (the user-declared models), ManifestService and LiveService
// (demand-response events, plans, the audit log with agents' idempotency keys, device
// reports and pruning), each passing the storetest conformance groups of those
// services. The leasing store (accounts, tokens, orders, leases, the ledger) is not
// here yet, which is why the CLI still refuses a postgres:// DSN.
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
