//go:build !linux

package sim

import (
	"errors"
	"net"
)

// listenLoopback needs a socket bound to the loopback device, which only Linux offers
// here.
func listenLoopback(int) (net.Listener, error) {
	return nil, errors.New("sim: a fleet on one socket needs Linux")
}
