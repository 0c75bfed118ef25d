// Package pgcluster starts a PostgreSQL server private to one test binary: initdb in a
// temporary directory, pg_ctl start on a Unix socket in that directory only, on a port
// that was free, so it collides with no other server or test run. Every test gets a
// database of its own (NewDatabase). The postgres store's tests and the replicas'
// failover test run on it.
//
// PostgreSQL refuses to run as root. When the tests run as root (as in a CI
// container), initdb and pg_ctl run as the unprivileged user "nobody" through runuser,
// and the directory is handed to that user.
package pgcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running PostgreSQL server private to this test binary.
type Cluster struct {
	dir    string // holds data/, the log and the socket
	port   int
	runAs  string // "" or the user initdb and pg_ctl run as
	nextDB atomic.Int64
}

// RunTests is a TestMain's body: it starts a cluster, hands it to use, runs the tests
// and stops the cluster. Without initdb on PATH it hands use nil and why, and the
// tests skip, unless JOULE_CI=1, where PostgreSQL must be there and they fail.
func RunTests(m *testing.M, use func(c *Cluster, skipReason string)) int {
	if _, err := exec.LookPath("initdb"); err != nil {
		if os.Getenv("JOULE_CI") == "1" {
			fmt.Fprintln(os.Stderr, "postgres tests: initdb is not on PATH, and JOULE_CI=1 requires PostgreSQL")
			return 1
		}
		use(nil, "initdb is not on PATH: install PostgreSQL (15 or newer) to run the tests on PostgreSQL")
		return m.Run()
	}
	c, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		if c != nil {
			_ = c.Stop()
		}
		return 1
	}
	use(c, "")
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		code = max(code, 1)
	}
	return code
}

// Start creates a cluster in a new temporary directory and starts it. On an error
// after the directory was made it returns the cluster too, for Stop.
func Start() (*Cluster, error) {
	dir, err := os.MkdirTemp("", "joule-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return c, fmt.Errorf("running as root, and PostgreSQL refuses root: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return c, err
		}
		c.runAs = "nobody"
	}
	if c.port, err = freePort(); err != nil {
		return c, err
	}
	data := filepath.Join(dir, "data")
	if err := c.run("initdb", "-D", data, "-A", "trust", "-U", "joule", "-E", "UTF8", "--no-sync"); err != nil {
		return c, err
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -p %d -c fsync=off", dir, c.port)
	if err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "start"); err != nil {
		return c, err
	}
	return c, nil
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

// DSN returns the key=value connection string of database db on the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=joule dbname=%s sslmode=disable", c.dir, c.port, db)
}

// NewDatabase creates an empty database for t, with options for CREATE DATABASE (a
// locale) when not empty, and returns its DSN; the database is dropped, with whatever
// sessions still use it, when t ends.
func (c *Cluster) NewDatabase(t testing.TB, options string) string {
	t.Helper()
	name := fmt.Sprintf("joule_test_%d", c.nextDB.Add(1))
	admin := func(sql string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin("CREATE DATABASE " + name + " " + options); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return c.DSN(name)
}
