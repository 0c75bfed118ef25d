package sim

import (
	"context"
	"net"
	"strconv"
	"syscall"
)

// listenLoopback listens on port at every loopback address and nowhere else: the
// socket takes the wildcard address but is bound to the loopback device, so that a
// fleet on one socket is not reachable from the network.
func listenLoopback(port int) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, "lo")
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	return lc.Listen(context.Background(), "tcp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
}
