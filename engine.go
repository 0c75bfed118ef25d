package joule

import (
	"context"
	"time"
)

// Engine is a workload engine: the scheduler that runs tenants' jobs on the site's GPU
// servers, so that a lease delivers compute and not only a ledger entry. Slurm
// implements it (package slurm); Kubernetes may later. Each lease becomes a tenant (an
// account its users submit under) and a reservation of whole servers for its hours.
//
// Errors carry codes: ECONFLICT for a reservation that overlaps another on a node (or
// a name already taken), ENOTFOUND for an unknown reservation, EINVALID for an unknown
// node or account or a malformed request, EUNAVAILABLE when the engine does not answer.
type Engine interface {
	// EnsureTenant creates the tenant's account and lets its users submit under it,
	// or updates them; it is idempotent.
	EnsureTenant(ctx context.Context, t EngineTenant) error
	// CreateReservation reserves r.Nodes for r.Account from r.Start to r.End.
	CreateReservation(ctx context.Context, r EngineReservation) error
	// UpdateReservation changes the nodes and the end of the reservation named r.Name
	// (resale moves nodes; a stop shrinks the end). r.Start and r.Account are kept.
	// Jobs running on a node the reservation leaves keep running there until they end
	// or are evicted.
	UpdateReservation(ctx context.Context, r EngineReservation) error
	// DeleteReservation removes a reservation. One with jobs running in it is refused
	// (ECONFLICT): shorten it, or evict its jobs, first.
	DeleteReservation(ctx context.Context, name string) error
	// Reservation reads a reservation back as the engine holds it.
	Reservation(ctx context.Context, name string) (EngineReservation, error)
	// Drain stops new jobs from starting on a node, for the reason given (shown to
	// operators and tenants); jobs running there go on until evicted.
	Drain(ctx context.Context, node, reason string) error
	// Evict requeues the jobs running on a node (or cancels those that cannot be
	// requeued), so that a drained node is left empty after its notice; the jobs get
	// SIGTERM and the engine's kill wait first. It returns how many jobs it evicted.
	Evict(ctx context.Context, node string) (int, error)
	// Resume makes a drained node schedulable again.
	Resume(ctx context.Context, node string) error
	// Nodes lists the engine's nodes and their states.
	Nodes(ctx context.Context) ([]EngineNode, error)
	// Usage lists the jobs of an account that ran in [from, to), with their GPU
	// usage from the engine's accounting; a job that was requeued has a row per run.
	// A run is counted whole (its ElapsedSec is not cut at from or to).
	Usage(ctx context.Context, account string, from, to time.Time) ([]JobUsage, error)
}

// EngineTenant is a lease's tenant in the engine: an account and the users who may
// submit under it.
type EngineTenant struct {
	Account string   // engine account, e.g. "lease-L42"
	Users   []string // login names allowed to submit jobs under Account
	// Preemptible marks a spot or interruptible lease: its jobs run at a priority that
	// firm tenants' jobs may preempt, and get SIGTERM NoticeSec seconds before they are
	// requeued.
	Preemptible bool
	NoticeSec   int // seconds between SIGTERM and requeue; used when Preemptible
}

// EngineReservation is a reservation of whole nodes for one account over [Start, End).
type EngineReservation struct {
	Name    string    `json:"name"`    // unique in the engine, e.g. "lease-L42"
	Account string    `json:"account"` // the only account whose jobs may run in it
	Nodes   []string  `json:"nodes"`   // node names, sorted
	Start   time.Time `json:"start"`   // inclusive, whole seconds
	End     time.Time `json:"end"`     // exclusive, whole seconds
}

// EngineNodeState is what a node is doing, in the engine's terms.
type EngineNodeState string

// Node states. An engine reports the closest of these; Raw keeps its own word.
const (
	NodeIdle     EngineNodeState = "idle"     // up, running nothing
	NodeBusy     EngineNodeState = "busy"     // up, running jobs (some or all of its GPUs)
	NodeReserved EngineNodeState = "reserved" // up, idle, in an active reservation
	NodeDraining EngineNodeState = "draining" // drained, with jobs still running
	NodeDrained  EngineNodeState = "drained"  // drained and empty: safe to power down
	NodeDown     EngineNodeState = "down"     // not responding, or powered down
	NodeUnknown  EngineNodeState = "unknown"  // a state this list has no word for
)

// EngineNode is a node's state.
type EngineNode struct {
	Name   string
	State  EngineNodeState
	Raw    string // the engine's own state word, e.g. Slurm's "drained" or "mixed"
	Reason string // why it is drained or down; empty otherwise
	GPUs   int    // GPUs the node offers
}

// JobUsage is one run of a job, from accounting.
type JobUsage struct {
	JobID       string    `json:"job_id"`
	Account     string    `json:"account"`
	Reservation string    `json:"reservation,omitempty"` // empty when the job ran outside any reservation
	State       string    `json:"state"`                 // the engine's word: COMPLETED, RUNNING, PREEMPTED, ...
	Start       time.Time `json:"start,omitzero"`        // zero when it never started
	End         time.Time `json:"end,omitzero"`          // zero while it runs
	ElapsedSec  int64     `json:"elapsed_sec"`           // seconds it ran (so far, while it runs)
	GPUs        int       `json:"gpus"`                  // GPUs allocated to it
}

// GPUSeconds is the run's usage: elapsed seconds times GPUs allocated.
func (u JobUsage) GPUSeconds() int64 { return u.ElapsedSec * int64(u.GPUs) }
