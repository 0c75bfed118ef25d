package cgminer

import (
	"context"
	"strconv"

	"github.com/joule-site/joule"
)

// Reboot restarts the miner: LuxOS's rebootdevice, in a session; cgminer's restart
// (the miner software) elsewhere. The miner stops answering for as long as it takes to
// come back.
func (c *Client) Reboot(ctx context.Context) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	if fw == FirmwareLuxOS {
		_, err = c.withSession(ctx, "rebootdevice")
		c.mu.Lock()
		c.session = "" // a restarted miner holds no session
		c.mu.Unlock()
		return err
	}
	_, err = c.Command(ctx, "restart")
	return err
}

// SwitchPool makes the miner hash for the pool at url: the pool it lists with that URL
// (and user, when given), else one it is told to add (addpool, with the password "x",
// which stratum pools commonly ignore: an assumption), through switchpool by the
// pool's number. LuxOS takes both in a session.
func (c *Client) SwitchPool(ctx context.Context, url, user string) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	write := func(command string, params ...string) error {
		if fw == FirmwareLuxOS {
			_, err := c.withSession(ctx, command, params...)
			return err
		}
		_, err := c.Command(ctx, command, params...)
		return err
	}
	id, err := c.poolNumber(ctx, url, user)
	if err != nil {
		return err
	}
	if id < 0 {
		if err := write("addpool", url, user, "x"); err != nil {
			return err
		}
		if id, err = c.poolNumber(ctx, url, user); err != nil {
			return err
		}
		if id < 0 {
			return joule.Errorf(joule.EINTERNAL, "%s: added pool %s, but the miner does not list it", c.addr, url)
		}
	}
	return write("switchpool", strconv.FormatInt(id, 10))
}

// poolNumber is the number (POOL) of the listed pool at url with user (any user when
// ""), or -1.
func (c *Client) poolNumber(ctx context.Context, url, user string) (int64, error) {
	r, err := c.Command(ctx, "pools")
	if err != nil {
		return -1, err
	}
	for i, p := range r.Section("POOLS") {
		if p.String("URL") != url || (user != "" && p.String("User") != user) {
			continue
		}
		if n, ok := p.Int("POOL"); ok {
			return n, nil
		}
		return int64(i), nil
	}
	return -1, nil
}
