package sim

import (
	"context"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/cgminer"
)

// The faults an alert watches for, set and cleared at run time, as the cgminer client
// reads them: an overheating miner reports its boards over 90 °C and still hashes; a
// miner on the wrong pool hashes for WrongPoolURL until switchpool (the pool guard)
// or clearing the fault takes it back; a firmware "update" changes its replies' shape
// (the fingerprint) but not what the client reads of its hashrate and power.
func TestMinerAlertFaults(t *testing.T) {
	ctx := context.Background()
	m, _ := startMiner(t, MinerConfig{})
	c := cgminer.Dial(m.Addr())
	normal := status(t, c)
	if normal.ChipTempC > 80 || normal.ReplyShape == "" || normal.ActivePool().URL != "stratum+tcp://pool.example.com:3333" {
		t.Fatalf("normal reading: chip %v °C, shape %q, pool %+v", normal.ChipTempC, normal.ReplyShape, normal.ActivePool())
	}
	if again := status(t, c); again.ReplyShape != normal.ReplyShape {
		t.Errorf("the shape of one firmware's replies changed between readings: %q, %q", normal.ReplyShape, again.ReplyShape)
	}

	m.SetFault(FaultOverheat)
	hot := status(t, c)
	if hot.ChipTempC <= 90 || hot.TempC <= 90 || hot.State != joule.StateRunning || hot.ReplyShape != normal.ReplyShape {
		t.Errorf("overheating: board %v °C, chip %v °C, %s, shape %q", hot.TempC, hot.ChipTempC, hot.State, hot.ReplyShape)
	}
	m.SetFault(FaultNone)
	if cool := status(t, c); cool.ChipTempC != normal.ChipTempC {
		t.Errorf("cleared: chip %v °C, want %v", cool.ChipTempC, normal.ChipTempC)
	}

	m.SetFault(FaultWrongPool)
	if p := status(t, c).ActivePool(); p == nil || p.URL != WrongPoolURL {
		t.Fatalf("wrong pool: active %+v", p)
	}
	if err := c.SwitchPool(ctx, "stratum+tcp://pool.example.com:3333", ""); err != nil {
		t.Fatalf("SwitchPool: %v", err)
	}
	if got := m.Pool(); got != "stratum+tcp://pool.example.com:3333" {
		t.Errorf("after switchpool the miner hashes for %s", got)
	}
	// A pool the miner does not have is added, then switched to.
	if err := c.SwitchPool(ctx, "stratum+tcp://backup.example.com:443", ""); err != nil {
		t.Fatalf("SwitchPool to a new pool: %v", err)
	}
	got := status(t, c)
	if p := got.ActivePool(); p == nil || p.URL != "stratum+tcp://backup.example.com:443" || p.User != "joule.sim" || len(got.Pools) != 3 {
		t.Errorf("after addpool: active %+v of %+v", p, got.Pools)
	}
	var cmds []string
	for _, cmd := range m.Commands() {
		cmds = append(cmds, cmd.Action+" "+cmd.Arg)
	}
	if want := []string{"pool 0", "addpool stratum+tcp://backup.example.com:443", "pool 2"}; !equalStrings(cmds, want) {
		t.Errorf("commands %q, want %q", cmds, want)
	}
	m.SetFault(FaultNone)

	m.SetFault(FaultReplyShape)
	moved := status(t, c)
	if moved.ReplyShape == normal.ReplyShape || moved.ReplyShape == "" {
		t.Errorf("reply shape after the update %q, before %q", moved.ReplyShape, normal.ReplyShape)
	}
	if moved.HashrateTHs != normal.HashrateTHs || moved.PowerW != normal.PowerW || moved.State != joule.StateRunning {
		t.Errorf("after the update: %v TH/s, %d W, %s", moved.HashrateTHs, moved.PowerW, moved.State)
	}
	m.SetFault(FaultNone)
	if back := status(t, c); back.ReplyShape != normal.ReplyShape {
		t.Errorf("shape after the fault cleared %q, want %q", back.ReplyShape, normal.ReplyShape)
	}
	// The simulator's own command sets a fault at run time, and clears even one under
	// which the miner answers nothing else.
	for _, name := range []string{"no-answer", "none"} {
		if _, err := c.Command(ctx, "sim_fault", name); err != nil {
			t.Fatalf("sim_fault %s: %v", name, err)
		}
		if m.Fault().String() != name {
			t.Errorf("after sim_fault %s the fault is %s", name, m.Fault())
		}
	}
	if _, err := c.Command(ctx, "sim_fault", "smoke"); err == nil {
		t.Error("sim_fault smoke was taken")
	}
	for _, name := range []string{"overheat", "wrong-pool", "reply-shape"} {
		if f, err := ParseFault(name); err != nil || f.String() != name {
			t.Errorf("ParseFault(%q) = %v, %v", name, f, err)
		}
	}
	if _, err := ParseFault("smoke"); err == nil {
		t.Error("ParseFault(smoke) took it")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
