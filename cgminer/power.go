package cgminer

import (
	"context"
	"math"
	"slices"

	"github.com/joule-site/joule"
)

// SetPower sets the miner to draw at most limit at the wall, with its firmware's own
// control: the LuxOS profile of highest power not above the limit (the lowest profile
// when none is), or Whatsminer's power percentage of stock. Other firmware gets an
// EINVALID error.
func (c *Client) SetPower(ctx context.Context, limit, stock joule.Watts) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	switch fw {
	case FirmwareLuxOS:
		profiles, err := c.Profiles(ctx)
		if err != nil {
			return err
		}
		if len(profiles) == 0 {
			return joule.Errorf(joule.EINVALID, "%s: LuxOS lists no power profiles", c.addr)
		}
		slices.SortFunc(profiles, func(a, b Profile) int { return int(a.PowerW - b.PowerW) })
		pick := profiles[0]
		for _, p := range profiles {
			if p.PowerW <= limit {
				pick = p
			}
		}
		return c.SetProfile(ctx, pick.Name)
	case FirmwareWhatsminer:
		if stock <= 0 {
			return joule.Errorf(joule.EINVALID, "%s: stock power is needed to set a percentage", c.addr)
		}
		pct := int(math.Floor(100 * float64(limit) / float64(stock)))
		return c.SetPowerPercent(ctx, min(max(pct, 1), 100))
	}
	return errUnsupported(c.addr, fw, "set power")
}

// PowerSettings lists the wall powers the miner's firmware can be set to, ascending:
// LuxOS's profiles. Firmware that takes any power in its range (Whatsminer's
// percentage) gives nil: SetPower is then the whole story. Firmware whose API takes no
// power setting at all (stock Antminer firmware, Braiins OS, whose power target is set
// through its own API, not this one) gives an EINVALID error: such a miner runs at its
// setting or sleeps.
func (c *Client) PowerSettings(ctx context.Context) ([]joule.Watts, error) {
	fw, err := c.Firmware(ctx)
	switch {
	case err != nil:
		return nil, err
	case fw == FirmwareWhatsminer:
		return nil, nil
	case fw != FirmwareLuxOS:
		return nil, errUnsupported(c.addr, fw, "take a power setting")
	}
	profiles, err := c.Profiles(ctx)
	if err != nil {
		return nil, err
	}
	var out []joule.Watts
	for _, p := range profiles {
		if p.PowerW > 0 {
			out = append(out, p.PowerW)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
