package node

import (
	"context"
	"sync"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

// States keeps a GPU server's power state: on (serving), idle (no new work: the
// server's curtailed state) or off (powered down).
type States interface {
	// State returns the state now.
	State(ctx context.Context) (string, error)
	// SetState moves the server to state; it returns once the change is asked for.
	SetState(ctx context.Context, state string) error
}

// LocalStates keeps the state in the daemon alone, for a server outside any workload
// engine: it records what it is told and changes nothing on the machine, which its
// state_source "local" says. It starts on.
type LocalStates struct {
	mu    sync.Mutex
	state string
}

// State returns the state last set, on at first.
func (l *LocalStates) State(context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == "" {
		return gpuapi.StateOn, nil
	}
	return l.state, nil
}

// SetState records state.
func (l *LocalStates) SetState(_ context.Context, state string) error {
	if !gpuapi.ValidState(state) {
		return joule.Errorf(joule.EINVALID, "state %q: use on, idle or off", state)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = state
	return nil
}
