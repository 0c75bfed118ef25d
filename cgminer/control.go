package cgminer

import (
	"context"
)

// Firmware returns the miner's firmware name, detecting it once (version, then summary
// and stats where VERSION does not tell) and remembering it; Status also records it.
func (c *Client) Firmware(ctx context.Context) (string, error) {
	c.mu.Lock()
	fw := c.firmware
	c.mu.Unlock()
	if fw != "" {
		return fw, nil
	}
	var v Version
	r, err := c.Command(ctx, "version")
	switch {
	case err == nil:
		v = versionOf(r.First("VERSION"), r.Status.Description)
	case isTransport(err):
		return "", err
	}
	if v.Firmware == "" || v.Firmware == FirmwareCGMiner || v.Firmware == FirmwareBMMiner {
		summary, err := c.Summary(ctx)
		if isTransport(err) {
			return "", err
		}
		v.refine(nil, summary)
		if v.Firmware != FirmwareWhatsminer {
			stats, err := c.Stats(ctx)
			if isTransport(err) {
				return "", err
			}
			v.refine(stats, summary)
		}
	}
	c.setFirmware(v.Firmware)
	return v.Firmware, nil
}

// Sleep curtails the miner with its firmware's own command: LuxOS curtail sleep,
// Whatsminer power_off, Avalon ascset softoff. Other firmware has no sleep over this
// API and gets an EINVALID error.
func (c *Client) Sleep(ctx context.Context) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	switch fw {
	case FirmwareLuxOS:
		return c.Curtail(ctx, CurtailSleep)
	case FirmwareWhatsminer:
		return c.PowerOff(ctx)
	case FirmwareAvalon:
		return c.avalonSoft(ctx, false)
	}
	return errUnsupported(c.addr, fw, "sleep")
}

// Wake undoes Sleep: LuxOS curtail wakeup, Whatsminer power_on, Avalon ascset softon.
// The miner takes time to ramp up; Status shows when it hashes again.
func (c *Client) Wake(ctx context.Context) error {
	fw, err := c.Firmware(ctx)
	if err != nil {
		return err
	}
	switch fw {
	case FirmwareLuxOS:
		return c.Curtail(ctx, CurtailWakeup)
	case FirmwareWhatsminer:
		return c.PowerOn(ctx)
	case FirmwareAvalon:
		return c.avalonSoft(ctx, true)
	}
	return errUnsupported(c.addr, fw, "wake")
}
