package cgminer

import (
	"context"
	"strconv"

	"github.com/joule-site/joule"
)

// poolPassword is what addpool sends as a pool's password: stratum pools take any
// ("x" by convention; assumption: a pool that checks passwords is added by hand).
const poolPassword = "x"

// SwitchPool makes the miner hash for the pool at url, with cgminer's switchpool on the
// pool's number in its list, adding it first (addpool) when the miner does not have
// it. The worker name is the one the miner has for that pool, else the one of the
// pool it hashes for now. Whatsminer (btminer's own pool commands) and Braiins OS
// (read-only cgminer API) get an EINVALID error: they cannot be switched this way.
func (c *Client) SwitchPool(ctx context.Context, url string) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	switch fw {
	case FirmwareWhatsminer, FirmwareBOSminer:
		return errUnsupported(c.addr, fw, "switch pools")
	}
	n, user, err := c.poolNumber(ctx, url)
	if err != nil {
		return err
	}
	if n < 0 {
		if _, err := c.Command(ctx, "addpool", url, user, poolPassword); err != nil {
			return err
		}
		if n, _, err = c.poolNumber(ctx, url); err != nil {
			return err
		}
		if n < 0 {
			return joule.Errorf(joule.EINTERNAL, "miner %s took addpool %s but does not list it", c.addr, url)
		}
	}
	_, err = c.Command(ctx, "switchpool", strconv.Itoa(n))
	return err
}

// poolNumber returns the firmware's number of the pool at url (-1: not in its list)
// and the worker name to use for it.
func (c *Client) poolNumber(ctx context.Context, url string) (int, string, error) {
	r, err := c.Command(ctx, "pools")
	if err != nil {
		return 0, "", err
	}
	n, user := -1, ""
	for _, p := range r.Section("POOLS") {
		if active, _ := p.Bool("Stratum Active"); active && user == "" {
			user = p.String("User")
		}
		if joule.NormalPoolURL(p.String("URL")) == joule.NormalPoolURL(url) {
			i, ok := p.Int("POOL")
			if !ok {
				return 0, "", joule.Errorf(joule.EINVALID, "miner %s lists pool %s without its number", c.addr, url)
			}
			n, user = int(i), p.String("User")
		}
	}
	if user == "" {
		user = "joule"
	}
	return n, user, nil
}
