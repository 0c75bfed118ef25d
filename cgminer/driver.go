package cgminer

import (
	"context"
	"sync"

	"github.com/joule-site/joule"
)

// Driver commands miners by address: one Client per address, kept so that what a
// client learned (the firmware, a LuxOS session) serves the next command. It is what
// the agent drives miners through.
type Driver struct {
	Options []Option
	clients sync.Map // address → *Client
}

func (d *Driver) client(addr string) *Client {
	if c, ok := d.clients.Load(addr); ok {
		return c.(*Client)
	}
	c, _ := d.clients.LoadOrStore(addr, Dial(addr, d.Options...))
	return c.(*Client)
}

// Status reads a miner's normalized telemetry.
func (d *Driver) Status(ctx context.Context, addr string) (*joule.Telemetry, error) {
	return d.client(addr).Status(ctx)
}

// Sleep curtails a miner with its firmware's own command.
func (d *Driver) Sleep(ctx context.Context, addr string) error { return d.client(addr).Sleep(ctx) }

// Wake resumes a curtailed miner.
func (d *Driver) Wake(ctx context.Context, addr string) error { return d.client(addr).Wake(ctx) }

// SetPower sets a miner's power setting to at most limit (stock is its stock power).
func (d *Driver) SetPower(ctx context.Context, addr string, limit, stock joule.Watts) error {
	return d.client(addr).SetPower(ctx, limit, stock)
}

// PowerSettings lists the powers a miner's firmware can be set to (LuxOS profiles),
// ascending; nil when it takes any power, or none.
func (d *Driver) PowerSettings(ctx context.Context, addr string) ([]joule.Watts, error) {
	return d.client(addr).PowerSettings(ctx)
}

// Prepare readies a miner for commands (a kept LuxOS session), after it was read once.
func (d *Driver) Prepare(ctx context.Context, addr string) error { return d.client(addr).Prepare(ctx) }

// PowerState reads whether a miner hashes or sleeps and what it draws, as cheaply as
// its firmware allows: what the agent verifies commands with.
func (d *Driver) PowerState(ctx context.Context, addr string) (*joule.Telemetry, error) {
	return d.client(addr).PowerState(ctx)
}

// Reboot restarts a miner (LuxOS rebootdevice, cgminer restart).
func (d *Driver) Reboot(ctx context.Context, addr string) error { return d.client(addr).Reboot(ctx) }

// SwitchPool makes a miner hash for the pool at url, adding it when it is not listed.
func (d *Driver) SwitchPool(ctx context.Context, addr, url, user string) error {
	return d.client(addr).SwitchPool(ctx, url, user)
}
