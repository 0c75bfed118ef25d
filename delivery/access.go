package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// Access is how a lease's tenant runs jobs on its servers.
type Access struct {
	Lease     string   `json:"lease"`
	Account   string   `json:"account"`
	Users     []string `json:"users"`
	Partition string   `json:"partition,omitempty"`
	LoginHost string   `json:"login_host,omitempty"`
	// Reservations are the lease's reservations from now on, in time order, in the
	// engine's clock; the first is the one to submit to now.
	Reservations []joule.EngineReservation `json:"reservations"`
	// Submit is a command line that submits a batch script into the first reservation.
	Submit string `json:"submit,omitempty"`
}

// Access says how the tenant of lease l submits: its account, reservations, nodes,
// partition and login host. A lease that holds no servers from now on has none.
func (r *Reconciler) Access(l joule.Lease) Access {
	now := r.cfg.Now()
	t := r.tenant(l)
	a := Access{Lease: l.ID, Account: t.Account, Users: t.Users, Partition: r.cfg.Partition, LoginHost: r.cfg.LoginHost,
		Reservations: []joule.EngineReservation{}}
	for i, b := range l.Bindings() {
		end := b.End
		if !l.OpenEnded {
			end = joule.Earlier(end, l.End)
		}
		if !end.After(now) {
			continue
		}
		start := joule.Later(b.Start, l.Start)
		if start.Before(now.Add(-PastStart)) {
			start = now
		}
		a.Reservations = append(a.Reservations, joule.EngineReservation{Name: ReservationName(l.ID, i), Account: t.Account,
			Nodes: b.Servers, Start: r.engineTime(start, true), End: r.engineTime(end, false)})
	}
	if len(a.Reservations) > 0 {
		res := a.Reservations[0]
		cmd := []string{"sbatch", "--account=" + a.Account, "--reservation=" + res.Name}
		if a.Partition != "" {
			cmd = append(cmd, "--partition="+a.Partition)
		}
		cmd = append(cmd, fmt.Sprintf("--nodes=%d", len(res.Nodes)), "--gres=gpu:"+fmt.Sprint(l.GPUs/max(len(res.Nodes), 1)), "job.sh")
		a.Submit = strings.Join(cmd, " ")
		if a.LoginHost != "" {
			a.Submit = "ssh " + a.Users[0] + "@" + a.LoginHost + " " + a.Submit
		}
	}
	return a
}

// Usage is a lease's use of its servers from the engine's accounting beside what
// was billed, both in GPU-seconds.
type Usage struct {
	Lease string `json:"lease"`
	// BilledGPUSeconds is what the lease is billed for: for every share, its GPUs ×
	// the seconds of [Start, End) it covers (what joule.Lease.Cost prices).
	BilledGPUSeconds int64 `json:"billed_gpu_seconds"`
	// ReservedGPUSeconds is what the engine's accounting recorded the lease's
	// reservations holding: for each, its seconds × its servers' GPUs (sacctmgr show
	// reservation on Slurm). For a completed lease it is BilledGPUSeconds to the second;
	// absent where the engine keeps no such record.
	ReservedGPUSeconds *int64 `json:"reserved_gpu_seconds,omitempty"`
	// UsedGPUSeconds is the sum of the lease's jobs' GPU-seconds in the engine's
	// accounting (sacct on Slurm); a requeued job counts each run.
	UsedGPUSeconds int64            `json:"used_gpu_seconds"`
	Jobs           []joule.JobUsage `json:"jobs"`
}

// reservationHistory is an engine whose accounting records reservations.
type reservationHistory interface {
	ReservationHistory(ctx context.Context, from, to time.Time) ([]joule.EngineReservation, error)
}

// Usage reads a lease's jobs from the engine's accounting and sets them beside what
// the lease is billed.
func (r *Reconciler) Usage(ctx context.Context, l joule.Lease) (Usage, error) {
	u := Usage{Lease: l.ID, BilledGPUSeconds: BilledGPUSeconds(l), Jobs: []joule.JobUsage{}}
	jobs, err := r.cfg.Engine.Usage(ctx, Account(l.ID), r.engineTime(l.Start, false), r.engineTime(l.End, true).Add(time.Second))
	if err != nil {
		return u, fmt.Errorf("delivery: usage of lease %s: %w", l.ID, err)
	}
	for _, j := range jobs {
		u.UsedGPUSeconds += j.GPUSeconds()
	}
	u.Jobs = append(u.Jobs, jobs...)
	if h, ok := r.cfg.Engine.(reservationHistory); ok {
		rs, err := h.ReservationHistory(ctx, r.engineTime(l.Start, false), r.engineTime(l.End, true).Add(time.Second))
		if err != nil {
			return u, fmt.Errorf("delivery: reservations of lease %s: %w", l.ID, err)
		}
		servers := map[string]int{} // reservation name → servers it holds
		for i, b := range l.Bindings() {
			servers[ReservationName(l.ID, i)] = len(b.Servers)
		}
		gpn := int64(gpusPerServer(l))
		var n int64
		for _, res := range rs {
			if k, ok := servers[res.Name]; ok && res.End.After(res.Start) {
				n += int64(res.End.Sub(res.Start)/time.Second) * int64(k) * gpn
			}
		}
		u.ReservedGPUSeconds = &n
	}
	return u, nil
}

// gpusPerServer is the GPUs of one of l's servers, from its shares.
func gpusPerServer(l joule.Lease) int {
	for _, s := range l.Sellers {
		if len(s.Servers) > 0 {
			return s.GPUs / len(s.Servers)
		}
	}
	return 0
}

// BilledGPUSeconds is what lease l is billed for in GPU-seconds: every share's GPUs ×
// the whole seconds of it inside [Start, End).
func BilledGPUSeconds(l joule.Lease) int64 {
	var n int64
	for _, s := range l.Sellers {
		a, b := joule.Later(s.Start, l.Start), joule.Earlier(s.End, l.End)
		if b.After(a) {
			n += int64(s.GPUs) * int64(b.Sub(a)/time.Second)
		}
	}
	return n
}
