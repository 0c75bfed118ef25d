// Package slurm drives a Slurm cluster as Joule's workload engine (joule.Engine): a
// lease becomes an account (sacctmgr) and a reservation of whole nodes for its hours
// (scontrol), spot and interruptible leases get a preemptable QOS whose GraceTime is
// their notice, curtailment drains nodes and requeues the jobs left on them, and usage
// comes from accounting (sacct) in GPU-seconds.
//
// It runs Slurm's own clients (scontrol, sacctmgr, sacct, sinfo, squeue, scancel) with
// parsable output, each under the caller's context, with the SLURM_CONF and binary
// directory configured, and in UTC (TZ=UTC) so that the times it writes and reads are
// unambiguous. Slurm 22.05 (Debian 12) is what it is tested against.
package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// DefaultFirmQOS is the QOS firm tenants' jobs run at when Config.FirmQOS is empty: it
// may preempt every spot QOS this package creates.
const DefaultFirmQOS = "joule-firm"

// timeLayout is how Slurm's clients write and read times (in TZ, here UTC).
const timeLayout = "2006-01-02T15:04:05"

// Config says where the cluster's configuration and clients are.
type Config struct {
	// Conf is the path of the cluster's slurm.conf, passed as SLURM_CONF; empty uses
	// Slurm's default (/etc/slurm/slurm.conf on Debian).
	Conf string
	// BinDir is the directory holding scontrol, sacctmgr, sacct, sinfo, squeue and
	// scancel; empty looks them up on PATH.
	BinDir string
	// FirmQOS is the QOS of firm tenants; empty means DefaultFirmQOS.
	FirmQOS string
	// Timeout bounds each client run when the caller's context has no earlier
	// deadline; zero means 30 seconds.
	Timeout time.Duration
}

// Engine drives one Slurm cluster. It implements joule.Engine.
type Engine struct {
	cfg Config
}

var _ joule.Engine = (*Engine)(nil)

// New returns an Engine for the cluster cfg describes. It checks that slurm.conf
// exists (a missing one makes Slurm's clients retry for a minute before failing) and
// that the clients are installed; it does not contact the cluster.
func New(cfg Config) (*Engine, error) {
	if cfg.FirmQOS == "" {
		cfg.FirmQOS = DefaultFirmQOS
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Conf != "" {
		if _, err := os.Stat(cfg.Conf); err != nil {
			return nil, joule.Errorf(joule.EINVALID, "slurm: no slurm.conf at %s", cfg.Conf)
		}
	}
	e := &Engine{cfg: cfg}
	for _, p := range []string{"scontrol", "sacctmgr", "sacct", "sinfo", "squeue", "scancel"} {
		if _, err := e.lookPath(p); err != nil {
			return nil, joule.Errorf(joule.EINVALID, "slurm: %s not found (%s)", p, e.where())
		}
	}
	return e, nil
}

func (e *Engine) where() string {
	if e.cfg.BinDir != "" {
		return "in " + e.cfg.BinDir
	}
	return "on PATH"
}

func (e *Engine) lookPath(prog string) (string, error) {
	if e.cfg.BinDir != "" {
		p := filepath.Join(e.cfg.BinDir, prog)
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not executable", p)
		}
		return p, nil
	}
	return exec.LookPath(prog)
}

// output is what a client run printed.
type output struct {
	stdout, stderr string
}

// text is everything the client printed, for classifying its errors.
func (o output) text() string { return strings.TrimSpace(o.stdout + "\n" + o.stderr) }

// run runs a Slurm client. A non-zero exit becomes an error with a code (classify);
// its Slurm text is in the message, which names nothing beyond the cluster's own
// objects.
func (e *Engine) run(ctx context.Context, prog string, args ...string) (output, error) {
	path, err := e.lookPath(prog)
	if err != nil {
		return output{}, joule.Errorf(joule.EINVALID, "slurm: %s not found (%s)", prog, e.where())
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if e.cfg.Conf != "" {
		cmd.Env = append(cmd.Env, "SLURM_CONF="+e.cfg.Conf)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	out := output{stdout.String(), stderr.String()}
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s %s: %w", prog, args[0], errors.Join(joule.Errorf(joule.EUNAVAILABLE, "slurm: %s did not answer in time", prog), ctx.Err()))
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return out, fmt.Errorf("run %s: %w", prog, err)
	}
	return out, classify(prog, out.text())
}

// classify turns a Slurm client's failure text into an error with a code. Slurm's
// clients say what went wrong only in words, so this is the one place that reads them;
// the words are those of Slurm 22.05 (recorded in testdata/errors).
func classify(prog, text string) error {
	msg := firstLine(text)
	code := joule.EINTERNAL
	for _, c := range []struct {
		substr, code string
	}{
		{"overlaps with another reservation", joule.ECONFLICT},
		{"Duplicate reservation name", joule.ECONFLICT},
		{"Requested nodes are busy", joule.ECONFLICT},
		{"Invalid node state specified", joule.ECONFLICT},
		{"Requested operation is presently disabled", joule.ECONFLICT},
		{"Requested reservation is in use", joule.ECONFLICT},
		{"Requested reservation is invalid", joule.ENOTFOUND},
		{"not found", joule.ENOTFOUND},
		{"Invalid job id specified", joule.ENOTFOUND},
		{"Invalid node name specified", joule.EINVALID},
		{"Invalid account", joule.EINVALID},
		{"doesn't exist", joule.EINVALID},
		{"Access denied to requested reservation", joule.EFORBIDDEN},
		{"Unable to contact slurm controller", joule.EUNAVAILABLE},
		{"Connection refused", joule.EUNAVAILABLE},
		{"Problem talking to the database", joule.EUNAVAILABLE},
		{"Unable to connect to database", joule.EUNAVAILABLE},
	} {
		if strings.Contains(text, c.substr) {
			code = c.code
			break
		}
	}
	return joule.Errorf(code, "slurm %s: %s", prog, msg)
}

// firstLine is the first non-empty line of a client's text, without the prefixes Slurm
// puts before its reason ("Error creating the reservation: ", "sbatch: error: ").
func firstLine(text string) string {
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if i := strings.LastIndex(l, ": "); i >= 0 && i+2 < len(l) {
			l = l[i+2:]
		}
		return l
	}
	return "failed"
}

// formatTime writes t as Slurm reads it under TZ=UTC.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a Slurm time written under TZ=UTC; "Unknown", "None" and "" are the
// zero time.
func parseTime(s string) (time.Time, error) {
	switch s {
	case "", "Unknown", "None", "(null)":
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(timeLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("slurm time %q: %w", s, err)
	}
	return t, nil
}

// validName says whether s can name a reservation, account, node or user in Slurm's
// key=value arguments: lower-case letters, digits, '-', '_' and '.'. Slurm folds
// account names to lower case, so upper case is refused rather than silently changed.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
