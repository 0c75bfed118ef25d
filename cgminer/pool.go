package cgminer

import (
	"context"
	"strconv"

	"github.com/joule-site/joule"
)

// poolPassword is what addpool sends as a pool's password: stratum pools take any
// ("x" by convention; assumption: a pool that checks passwords is added by hand).
const poolPassword = "x"

// SwitchPool makes the miner hash for the pool at url, with switchpool on the pool's
// number in its list, adding it first (addpool) when the miner does not list it. The
// worker name is user when given, else the one the miner has for that pool, else the
// one of the pool it hashes for now. LuxOS takes both commands in a session. Whatsminer
// (btminer's own pool commands) and Braiins OS (a read-only cgminer API) get an EINVALID
// error: they cannot be switched this way.
func (c *Client) SwitchPool(ctx context.Context, url, user string) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	switch fw {
	case FirmwareWhatsminer, FirmwareBOSminer:
		return errUnsupported(c.addr, fw, "switch pools")
	}
	write := func(command string, params ...string) error {
		if fw == FirmwareLuxOS {
			_, err := c.withSession(ctx, command, params...)
			return err
		}
		_, err := c.Command(ctx, command, params...)
		return err
	}
	n, worker, err := c.poolNumber(ctx, url, user)
	if err != nil {
		return err
	}
	if n < 0 {
		if err := write("addpool", url, worker, poolPassword); err != nil {
			return err
		}
		if n, _, err = c.poolNumber(ctx, url, worker); err != nil {
			return err
		}
		if n < 0 {
			return joule.Errorf(joule.EINTERNAL, "miner %s took addpool %s but does not list it", c.addr, url)
		}
	}
	return write("switchpool", strconv.Itoa(n))
}

// poolNumber returns the firmware's number of the pool at url with user (any user
// when "": -1 when none is listed) and the worker name to use for it: user, else the
// listed pool's, else the active pool's, else "joule".
func (c *Client) poolNumber(ctx context.Context, url, user string) (int, string, error) {
	r, err := c.Command(ctx, "pools")
	if err != nil {
		return 0, "", err
	}
	n, active, listed := -1, "", ""
	for i, p := range r.Section("POOLS") {
		if on, _ := p.Bool("Stratum Active"); on && active == "" {
			active = p.String("User")
		}
		if n >= 0 || joule.NormalPoolURL(p.String("URL")) != joule.NormalPoolURL(url) || (user != "" && p.String("User") != user) {
			continue
		}
		n, listed = i, p.String("User")
		if id, ok := p.Int("POOL"); ok {
			n = int(id)
		}
	}
	switch {
	case user != "":
		return n, user, nil
	case listed != "":
		return n, listed, nil
	case active != "":
		return n, active, nil
	}
	return n, "joule", nil
}
