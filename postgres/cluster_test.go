package postgres

import (
	"os"
	"testing"

	"github.com/joule-site/joule/pgcluster"
)

// The package's tests run on a private PostgreSQL cluster (pgcluster) that TestMain
// starts and stops; each test gets a database of its own (newTestDatabase).

// cluster is the running test cluster; nil when there is none (skipReason says why).
var cluster *pgcluster.Cluster

// skipReason is why no cluster runs: initdb is not on PATH.
var skipReason string

func TestMain(m *testing.M) {
	os.Exit(pgcluster.RunTests(m, func(c *pgcluster.Cluster, reason string) { cluster, skipReason = c, reason }))
}

// newTestDatabase creates an empty database for t and returns its DSN; the database
// is dropped when t ends. It skips t when there is no cluster.
func newTestDatabase(t testing.TB) string {
	t.Helper()
	return newTestDatabaseWith(t, "")
}

// newTestDatabaseWith is newTestDatabase with options for CREATE DATABASE (a locale).
func newTestDatabaseWith(t testing.TB, options string) string {
	t.Helper()
	if cluster == nil {
		t.Skip(skipReason)
	}
	return cluster.NewDatabase(t, options)
}

// NewTestDatabase is newTestDatabase, for the package's external tests.
var NewTestDatabase = newTestDatabase
