// Package pgtest runs a private PostgreSQL server for tests and benchmarks: initdb in a
// temporary directory, pg_ctl to start it listening on a Unix socket in that directory
// only (no TCP), and a fresh database for each test that asks. It speaks to
// PostgreSQL's own programs and to the server through pgx; nothing of Joule's.
//
// PostgreSQL refuses to run as root. When the tests run as root (as in a CI
// container), initdb and pg_ctl run as the unprivileged user "nobody" through runuser,
// and the directory is handed to that user.
//
// A test binary without initdb on PATH skips the tests that need the server, unless
// JOULE_CI=1 is set: then PostgreSQL must be there, and they fail.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// ErrNoServer is what Start returns when initdb is not on PATH and JOULE_CI is not
// set: the caller skips what needs the server.
var ErrNoServer = errors.New("initdb is not on PATH: install PostgreSQL (15 or newer) to run the PostgreSQL store's tests")

// Options sets up a cluster.
type Options struct {
	// Durable keeps PostgreSQL's default durability (fsync on, synchronous commit), as a
	// production server runs; false turns fsync off, which tests of behaviour do not need
	// and which makes them faster.
	Durable bool
}

// Cluster is a PostgreSQL server private to one test binary.
type Cluster struct {
	dir    string // holds data/, the log and the socket
	port   int
	runAs  string // "" or the user initdb and pg_ctl run as
	nextDB atomic.Int64
}

// Start creates a cluster in a new temporary directory and starts it. Without initdb
// it returns ErrNoServer, or, when JOULE_CI=1 requires PostgreSQL, an error that says
// so. Stop it when done.
func Start(o Options) (*Cluster, error) {
	if _, err := exec.LookPath("initdb"); err != nil {
		if os.Getenv("JOULE_CI") == "1" {
			return nil, fmt.Errorf("initdb is not on PATH, and JOULE_CI=1 requires PostgreSQL")
		}
		return nil, ErrNoServer
	}
	dir, err := os.MkdirTemp("", "joule-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if err := c.start(o); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(o Options) error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return fmt.Errorf("running as root, and PostgreSQL refuses root: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return err
		}
		c.runAs = "nobody"
	}
	var err error
	if c.port, err = freePort(); err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	if err := c.run("initdb", "-D", data, "-A", "trust", "-U", "joule", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -p %d", c.dir, c.port)
	if !o.Durable {
		opts += " -c fsync=off"
	}
	return c.run("pg_ctl", "-D", data, "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "start")
}

// freePort returns a TCP port no one listens on now. The server uses it only in its
// socket's name, so a port taken later by someone else does no harm.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a PostgreSQL program, as c.runAs when set.
func (c *Cluster) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", name}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return nil
}

// Stop stops the server, if it started, and removes its directory.
func (c *Cluster) Stop() error {
	var err error
	if _, statErr := os.Stat(filepath.Join(c.dir, "data", "postmaster.pid")); statErr == nil {
		err = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop")
	}
	if rmErr := os.RemoveAll(c.dir); err == nil {
		err = rmErr
	}
	return err
}

// DSN returns the connection string of database db on the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=joule dbname=%s sslmode=disable", c.dir, c.port, db)
}

// NewDatabase creates an empty database for tb and returns its DSN; the database is
// dropped when tb ends (after the cleanups registered later, such as closing a store
// on it). options are added to CREATE DATABASE (a locale, say).
func (c *Cluster) NewDatabase(tb testing.TB, options string) string {
	tb.Helper()
	name := fmt.Sprintf("joule_test_%d", c.nextDB.Add(1))
	if err := c.admin("CREATE DATABASE " + name + " " + options); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := c.admin("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return c.DSN(name)
}

// admin runs one statement on the cluster's maintenance database.
func (c *Cluster) admin(sql string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// Shared is a cluster a test binary starts on first use, for packages whose tests need
// PostgreSQL only here and there (benchmarks). Its TestMain calls Stop after m.Run.
type Shared struct {
	Options Options

	once sync.Once
	c    *Cluster
	err  error
}

// Database starts the cluster the first time, then returns a fresh database's DSN as
// NewDatabase does. Without PostgreSQL it skips tb, or fails it when JOULE_CI=1.
func (s *Shared) Database(tb testing.TB) string {
	tb.Helper()
	s.once.Do(func() { s.c, s.err = Start(s.Options) })
	switch {
	case errors.Is(s.err, ErrNoServer):
		tb.Skip(s.err)
	case s.err != nil:
		tb.Fatalf("postgres: %v", s.err)
	}
	return s.c.NewDatabase(tb, "")
}

// Stop stops the cluster if it started.
func (s *Shared) Stop() error {
	if s.c == nil {
		return nil
	}
	return s.c.Stop()
}
