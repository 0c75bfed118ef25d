package postgres

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/joule-site/joule/pgtest"
)

// The package's tests run on a private PostgreSQL cluster (pgtest) that TestMain
// starts in a temporary directory and stops at the end; each test gets a database of
// its own (newTestDatabase).

// cluster is the running test cluster; nil when there is none (skipReason says why).
var cluster *pgtest.Cluster

// skipReason is why no cluster runs: initdb is not on PATH.
var skipReason string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests starts the cluster, runs the tests and stops the cluster. Without initdb the
// tests skip, unless JOULE_CI=1, where PostgreSQL must be there and they fail.
func runTests(m *testing.M) int {
	c, err := pgtest.Start(pgtest.Options{})
	switch {
	case errors.Is(err, pgtest.ErrNoServer):
		skipReason = err.Error()
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		return 1
	}
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		code = max(code, 1)
	}
	return code
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
