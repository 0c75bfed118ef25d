package cgminer

import (
	"context"
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
