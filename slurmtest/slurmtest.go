// Package slurmtest starts a private Slurm cluster for tests: munged on a socket of its
// own, MariaDB and slurmdbd for accounting, slurmctld, and three slurmd nodes (n1..n3,
// eight H100s each, backed by empty device files), all on loopback, on ports that were
// free, in one temporary directory. It speaks to the daemons only to start and stop them;
// what Joule does with a cluster lives in the slurm package.
//
// Every daemon writes a PID file, and Stop ends each by its PID, so a failed test leaves
// nothing running; a watchdog process does the same if the test binary dies before
// Stop (a panic, or go test's timeout). The binaries come from Debian's slurmctld, slurmd, slurm-client,
// slurmdbd, munge and mariadb-server packages (Slurm 22.05).
package slurmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Nodes are the cluster's node names, in order.
var Nodes = []string{"n1", "n2", "n3"}

// GPUsPerNode is the number of GPUs (gres gpu:h100) on each node.
const GPUsPerNode = 8

// ClusterName is the name the cluster has in slurm.conf and in accounting.
const ClusterName = "joule"

// Partition is the cluster's one partition, holding every node.
const Partition = "gpu"

// daemons and clients the cluster needs, looked for on PATH and in /usr/sbin.
var programs = []string{
	"munged", "mariadb-install-db", "mariadbd", "slurmdbd", "slurmctld", "slurmd",
	"sacctmgr", "scontrol", "sbatch", "squeue", "scancel", "sacct", "sinfo",
}

// Missing names the programs a cluster needs that are not installed; empty when all are.
func Missing() []string {
	var missing []string
	for _, p := range programs {
		if _, err := lookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	return missing
}

// lookPath finds a program on PATH or in the sbin directories, where Debian puts the
// daemons and which a non-root PATH often lacks.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed", name)
}

// Cluster is a running private Slurm cluster.
type Cluster struct {
	// Dir holds every configuration, state, log, socket and PID file of the cluster.
	Dir string
	// Conf is the path of slurm.conf: clients find the cluster through SLURM_CONF.
	Conf string
	// DevDir holds the empty files the nodes' GPUs are configured on.
	DevDir string

	ports    map[string]int
	watchdog *exec.Cmd     // ends the daemons if this process dies before Stop
	pids     []string      // PID files of the daemons started, in start order
	mariadb  *exec.Cmd     // mariadbd does not fork; this is its process
	mdbDone  chan struct{} // closed when mariadbd exits

	powerSaving bool // StartPowerSaving's: slurm.conf has SuspendProgram and ResumeProgram
}

// Env is the environment clients need to reach the cluster: SLURM_CONF, and TZ=UTC so
// that times are read and written in UTC.
func (c *Cluster) Env() []string {
	return []string{"SLURM_CONF=" + c.Conf, "TZ=UTC"}
}

// Log returns the last part of a daemon's log (slurmctld, slurmdbd, slurmd-n1, munged,
// mariadb), for a failed test to show.
func (c *Cluster) Log(name string) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Start creates a cluster in a new temporary directory and starts its daemons, waiting
// until every node is idle. On error the daemons already started are stopped and the
// directory is removed. A daemon that exits at start (a port taken meanwhile by
// another program) makes it start again on other ports, three tries in all.
func Start(ctx context.Context) (*Cluster, error) { return startTries(ctx, false) }

func startTries(ctx context.Context, powerSaving bool) (*Cluster, error) {
	if m := Missing(); len(m) > 0 {
		return nil, fmt.Errorf("slurmtest: missing %s (Debian: apt-get install slurmctld slurmd slurm-client munge slurmdbd mariadb-server)", strings.Join(m, ", "))
	}
	var errs []error
	for range 3 {
		c, err := start(ctx, powerSaving)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func start(ctx context.Context, powerSaving bool) (c *Cluster, err error) {
	dir, err := os.MkdirTemp("", "joule-slurm-")
	if err != nil {
		return nil, err
	}
	// Slurm and munge refuse state directories others can write; MkdirTemp gives 0700.
	c = &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), DevDir: filepath.Join(dir, "dev"), ports: map[string]int{}, powerSaving: powerSaving}
	defer func() {
		if err != nil {
			logs := ""
			for _, n := range []string{"munged", "mariadb", "slurmdbd", "slurmctld", "slurmd-n1"} {
				logs += "\n--- " + n + ".log\n" + c.Log(n)
			}
			err = fmt.Errorf("%w%s", err, logs)
			c.Stop()
		}
	}()
	taken := map[int]bool{}
	for _, p := range []string{"mariadb", "slurmdbd", "slurmctld", "n1", "n2", "n3"} {
		for c.ports[p] == 0 || taken[c.ports[p]] {
			if c.ports[p], err = freePort(); err != nil {
				return c, err
			}
		}
		taken[c.ports[p]] = true
	}
	if err := c.writeFiles(); err != nil {
		return c, err
	}
	if err := c.startWatchdog(); err != nil {
		return c, err
	}
	steps := []func(context.Context) error{c.startMunge, c.startMariaDB, c.startSlurmdbd, c.addCluster, c.startSlurmctld, c.startSlurmds}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return c, err
		}
	}
	return c, nil
}

// freePort returns a loopback TCP port no one listens on now, below the range the
// kernel hands out to outgoing connections, so that no client's connection takes it
// between this check and the daemon's bind (on a busy machine that happened).
func freePort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 200 {
		port := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("no free port below the ephemeral range")
}

// writeFiles writes the munge key, slurm.conf, gres.conf, slurmdbd.conf and the GPUs'
// device files.
func (c *Cluster) writeFiles() error {
	for _, d := range []string{"munge", "ctld", "spool", c.DevDir, "mariadb-data"} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(c.Dir, d)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for i := range GPUsPerNode {
		if err := os.WriteFile(filepath.Join(c.DevDir, fmt.Sprintf("nvidia%d", i)), nil, 0o600); err != nil {
			return err
		}
	}
	key := make([]byte, 1024)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		return err
	}
	_, err = f.Read(key)
	f.Close()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "munge", "munge.key"), key, 0o400); err != nil {
		return err
	}
	var nodes strings.Builder
	for _, n := range Nodes {
		fmt.Fprintf(&nodes, "NodeName=%s NodeHostname=localhost NodeAddr=127.0.0.1 Port=%d CPUs=4 RealMemory=1000 Gres=gpu:h100:%d State=UNKNOWN\n", n, c.ports[n], GPUsPerNode)
	}
	conf := fmt.Sprintf(`# A private test cluster; every path is in %[1]s.
ClusterName=%[2]s
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=%[3]d
SlurmUser=%[4]s
SlurmdUser=%[4]s
AuthType=auth/munge
AuthInfo=socket=%[1]s/munge/munge.socket
CredType=cred/munge
StateSaveLocation=%[1]s/ctld
SlurmdSpoolDir=%[1]s/spool/%%n
SlurmctldPidFile=%[1]s/slurmctld.pid
SlurmdPidFile=%[1]s/slurmd-%%n.pid
SlurmctldLogFile=%[1]s/slurmctld.log
SlurmdLogFile=%[1]s/slurmd-%%n.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=100000,bf_resolution=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=%[5]d
AccountingStoragePass=%[1]s/munge/munge.socket
AccountingStorageTRES=gres/gpu
AccountingStorageEnforce=associations,limits,qos
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
PreemptType=preempt/qos
PreemptMode=REQUEUE
JobRequeue=1
KillWait=5
InactiveLimit=0
MinJobAge=600
MessageTimeout=10
SlurmctldTimeout=300
SlurmdTimeout=300
%[6]sPartitionName=%[7]s Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`, c.Dir, ClusterName, c.ports["slurmctld"], currentUser(), c.ports["slurmdbd"], nodes.String(), Partition)
	if c.powerSaving {
		conf += c.powerSavingConf()
	}
	gres := fmt.Sprintf("Name=gpu Type=h100 File=%s/nvidia[0-%d]\n", c.DevDir, GPUsPerNode-1)
	dbd := fmt.Sprintf(`AuthType=auth/munge
AuthInfo=socket=%[1]s/munge/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=%[2]d
SlurmUser=%[3]s
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=%[4]d
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=%[1]s/slurmdbd.pid
LogFile=%[1]s/slurmdbd.log
DebugLevel=info
`, c.Dir, c.ports["slurmdbd"], currentUser(), c.ports["mariadb"])
	for name, body := range map[string]string{"slurm.conf": conf, "gres.conf": gres, "slurmdbd.conf": dbd} {
		if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// currentUser is the login name the daemons run as: the user running the tests.
func currentUser() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Geteuid())
}

// command returns a command for a program of the cluster, with its environment.
func (c *Cluster) command(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	path, err := lookPath(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), c.Env()...)
	cmd.Dir = c.Dir
	return cmd, nil
}

// run runs a program of the cluster to completion.
func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd, err := c.command(ctx, name, args...)
	if err != nil {
		return "", err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Run runs a Slurm client (sbatch, squeue, scontrol, ...) against the cluster and
// returns what it wrote to stdout and stderr.
func (c *Cluster) Run(ctx context.Context, name string, args ...string) (string, error) {
	return c.run(ctx, name, args...)
}

// daemon runs a program that forks into the background and writes pidFile, and waits
// until the PID file names a live process.
func (c *Cluster) daemon(ctx context.Context, pidFile, name string, args ...string) error {
	c.pids = append(c.pids, pidFile)
	if _, err := c.run(ctx, name, args...); err != nil {
		return err
	}
	return waitFor(ctx, name+" to write "+filepath.Base(pidFile), func() bool {
		pid, err := readPID(pidFile)
		return err == nil && syscall.Kill(pid, 0) == nil
	})
}

// watchdogScript waits for the test process ($1) to exit, then ends every daemon by
// its PID file (the remaining arguments) and removes the cluster's directory ($2). It
// covers a test binary that panics or times out, where no deferred Stop runs.
const watchdogScript = `test=$1 dir=$2; shift 2
while kill -0 "$test" 2>/dev/null; do sleep 1; done
for f in "$@"; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
sleep 5
for f in "$@"; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
rm -rf "$dir"`

// startWatchdog starts the watchdog in a session of its own.
func (c *Cluster) startWatchdog() error {
	pidFiles := []string{filepath.Join(c.Dir, "munge", "munged.pid"), filepath.Join(c.Dir, "mariadb.pid"),
		filepath.Join(c.Dir, "slurmdbd.pid"), filepath.Join(c.Dir, "slurmctld.pid")}
	for _, n := range Nodes {
		pidFiles = append(pidFiles, filepath.Join(c.Dir, "slurmd-"+n+".pid"))
	}
	args := append([]string{"-c", watchdogScript, "watchdog", strconv.Itoa(os.Getpid()), c.Dir}, pidFiles...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the watchdog: %w", err)
	}
	c.watchdog = cmd
	go cmd.Wait()
	return nil
}

func (c *Cluster) startMunge(ctx context.Context) error {
	m := filepath.Join(c.Dir, "munge")
	return c.daemon(ctx, filepath.Join(m, "munged.pid"), "munged", "--force",
		"--socket="+filepath.Join(m, "munge.socket"), "--key-file="+filepath.Join(m, "munge.key"),
		"--pid-file="+filepath.Join(m, "munged.pid"), "--log-file="+filepath.Join(c.Dir, "munged.log"),
		"--seed-file="+filepath.Join(m, "munged.seed"), "--num-threads=2")
}

func (c *Cluster) startMariaDB(ctx context.Context) error {
	data := filepath.Join(c.Dir, "mariadb-data")
	user := []string{}
	if os.Geteuid() == 0 {
		user = []string{"--user=root"}
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, user...)
	if _, err := c.run(ctx, "mariadb-install-db", args...); err != nil {
		return err
	}
	// Grant tables are skipped: the server listens on loopback, in a directory only the
	// test's user can read, and lives as long as the test run.
	args = append([]string{"--no-defaults", "--datadir=" + data, "--port=" + strconv.Itoa(c.ports["mariadb"]),
		"--bind-address=127.0.0.1", "--socket=" + filepath.Join(c.Dir, "mariadb.sock"),
		"--pid-file=" + filepath.Join(c.Dir, "mariadb.pid"), "--log-error=" + filepath.Join(c.Dir, "mariadb.log"),
		"--skip-grant-tables", "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=64M",
		"--skip-log-bin"}, user...)
	// mariadbd stays in the foreground: it runs in a session of its own, so that it
	// outlives no one's terminal, and is stopped by its PID file like the others.
	cmd, err := c.command(context.WithoutCancel(ctx), "mariadbd", args...)
	if err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.mariadb, c.mdbDone = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(c.mdbDone) }()
	c.pids = append(c.pids, filepath.Join(c.Dir, "mariadb.pid"))
	return waitFor(ctx, "mariadbd to listen", func() bool { return dial(c.ports["mariadb"]) }, func() error {
		select {
		case <-c.mdbDone:
			return errors.New("mariadbd exited")
		default:
			return nil
		}
	})
}

func (c *Cluster) startSlurmdbd(ctx context.Context) error {
	// slurmdbd reads its configuration next to slurm.conf.
	if err := c.daemon(ctx, filepath.Join(c.Dir, "slurmdbd.pid"), "slurmdbd"); err != nil {
		return err
	}
	return waitFor(ctx, "slurmdbd to listen", func() bool { return dial(c.ports["slurmdbd"]) }, running("slurmdbd", filepath.Join(c.Dir, "slurmdbd.pid")))
}

// addCluster registers the cluster in accounting; slurmctld refuses jobs of a cluster
// accounting does not know.
func (c *Cluster) addCluster(ctx context.Context) error {
	var last error
	err := waitFor(ctx, "sacctmgr to add the cluster", func() bool {
		_, last = c.run(ctx, "sacctmgr", "-i", "add", "cluster", ClusterName)
		return last == nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", err, last)
	}
	return nil
}

func (c *Cluster) startSlurmctld(ctx context.Context) error {
	if err := c.daemon(ctx, filepath.Join(c.Dir, "slurmctld.pid"), "slurmctld", "-i"); err != nil {
		return err
	}
	return waitFor(ctx, "slurmctld to answer", func() bool {
		_, err := c.run(ctx, "scontrol", "ping")
		return err == nil
	}, running("slurmctld", filepath.Join(c.Dir, "slurmctld.pid")))
}

func (c *Cluster) startSlurmds(ctx context.Context) error {
	for _, n := range Nodes {
		if err := c.daemon(ctx, filepath.Join(c.Dir, "slurmd-"+n+".pid"), "slurmd", "-N", n); err != nil {
			return err
		}
		pidFile := filepath.Join(c.Dir, "slurmd-"+n+".pid")
		if err := waitFor(ctx, "slurmd "+n+" to listen", func() bool { return dial(c.ports[n]) }, running("slurmd "+n, pidFile)); err != nil {
			return err
		}
	}
	return waitFor(ctx, "every node to be idle", func() bool {
		out, err := c.run(ctx, "sinfo", "-h", "-N", "-o", "%N %T")
		return err == nil && strings.Count(out, " idle\n") == len(Nodes)
	})
}

// Stop cancels the jobs still queued, ends every daemon by its PID file, in the reverse
// order of their start, and removes the cluster's directory. It waits for each daemon to
// exit, killing one that does not within ten seconds, and kills any job process left
// over (one whose environment names this cluster's slurm.conf).
func (c *Cluster) Stop() error {
	var errs []error
	if c.watchdog != nil {
		c.watchdog.Process.Kill()
	}
	c.cancelJobs()
	for i := len(c.pids) - 1; i >= 0; i-- {
		if err := stopPID(c.pids[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if c.mdbDone != nil {
		select {
		case <-c.mdbDone:
		case <-time.After(10 * time.Second):
			c.mariadb.Process.Kill()
			<-c.mdbDone
		}
	}
	// A job step whose slurmd was stopped first lives on; every process of the
	// cluster carries its SLURM_CONF.
	for _, pid := range c.leftovers() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(errs) == 0 && c.Dir != "" {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}

// stopPID sends SIGTERM to the process a PID file names and waits for it to exit, then
// SIGKILL after ten seconds. A missing PID file means the daemon never started.
func stopPID(pidFile string) error {
	pid, err := readPID(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop %s: %w", filepath.Base(pidFile), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(10 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// alive says whether pid is a running process (a zombie counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs: trust kill
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func readPID(pidFile string) (int, error) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: no PID in %q", pidFile, b)
	}
	return pid, nil
}

func dial(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// waitFor polls cond every 50 ms until it holds, ctx ends, or one of fails reports an
// error (a daemon that died).
func waitFor(ctx context.Context, what string, cond func() bool, fails ...func() error) error {
	for {
		for _, f := range fails {
			if err := f(); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
		}
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// running reports an error once the daemon of pidFile has exited.
func running(name, pidFile string) func() error {
	return func() error {
		if pid, err := readPID(pidFile); err != nil || !alive(pid) {
			return fmt.Errorf("%s exited", name)
		}
		return nil
	}
}

// cancelJobs cancels every job and waits (up to 30 s) until the queue is empty, so
// that no job step outlives its node daemon. It does nothing when the controller does
// not answer.
func (c *Cluster) cancelJobs() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.run(ctx, "squeue", "-h", "-o", "%A")
	if err != nil || strings.TrimSpace(out) == "" {
		return
	}
	c.run(ctx, "scancel", strings.Fields(out)...)
	waitFor(ctx, "the queue to empty", func() bool {
		out, err := c.run(ctx, "squeue", "-h", "-o", "%A")
		return err != nil || strings.TrimSpace(out) == ""
	})
}

// leftovers lists the processes whose environment holds this cluster's SLURM_CONF.
func (c *Cluster) leftovers() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	mark := []byte("SLURM_CONF=" + c.Conf + "\x00")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, mark) {
			pids = append(pids, pid)
		}
	}
	return pids
}
