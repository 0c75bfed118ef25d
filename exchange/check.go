package exchange

import (
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// Check verifies the book's invariants from the current hour on, recomputing what the
// counters say from the leases themselves, and returns the first violation:
//   - no hour slot of any source is leased beyond its capacity, so no GPU is leased
//     twice for the same hour;
//   - every lease has exactly its GPUs in every hour slot it holds;
//   - resale capacity lies within hours its lease holds, and no hour of a lease is
//     offered or sold for resale beyond the lease's GPUs;
//   - every whole-server share names its servers, and no server is bound to two
//     leases in one hour slot (bind.go);
//   - an all-or-none order is filled entirely or not at all, and no order beyond its GPUs.
func (e *Engine) Check() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	hour := unixHour(e.cfg.Now())
	for _, b := range e.list {
		if err := e.checkBook(b, max(b.slot(hour), 0)); err != nil {
			return fmt.Errorf("exchange: %s: %w", b.p.ID, err)
		}
	}
	for _, o := range e.orders {
		if o.FilledGPUs < 0 || o.FilledGPUs > o.GPUs {
			return fmt.Errorf("exchange: order %s filled %d of %d GPUs", o.ID, o.FilledGPUs, o.GPUs)
		}
		if o.Kind == joule.OrderReserved && o.AllOrNone && o.FilledGPUs != 0 && o.FilledGPUs != o.GPUs {
			return fmt.Errorf("exchange: all-or-none order %s filled %d of %d GPUs", o.ID, o.FilledGPUs, o.GPUs)
		}
		if o.resting == o.Status.Terminal() {
			return fmt.Errorf("exchange: order %s is %s but resting=%v", o.ID, o.Status, o.resting)
		}
	}
	return nil
}

func (e *Engine) checkBook(b *book, cur int) error {
	used := map[*source][]int32{}
	spot := map[*source][]int32{}
	count := func(m map[*source][]int32, s *source, i int, g int32) {
		if m[s] == nil {
			m[s] = make([]int32, b.n)
		}
		m[s][i] += g
	}
	for _, l := range e.leases {
		if l.b != b {
			continue
		}
		from, to := l.from(), l.to()
		cover := make([]int32, max(to-from, 0))
		for _, s := range l.shares {
			if s.a < from || s.z > to || s.a >= s.z || s.gpus <= 0 {
				return fmt.Errorf("lease %s: share [%d,%d) of %d GPUs outside [%d,%d)", l.ID, s.a, s.z, s.gpus, from, to)
			}
			if s.src.resale != nil && (l.kind != joule.OrderReserved || s.a < s.src.from || s.z > s.src.to) {
				return fmt.Errorf("lease %s: resale share outside resale order %s", l.ID, s.src.resale.ID)
			}
			for i := s.a; i < s.z; i++ {
				cover[i-from] += s.gpus
				if i >= cur {
					count(used, s.src, i, s.gpus)
					if l.Class == joule.LeaseInterruptible {
						count(spot, s.src, i, s.gpus)
					}
				}
			}
		}
		for i, c := range cover {
			if c != int32(l.GPUs) {
				return fmt.Errorf("lease %s holds %d GPUs at %s, not %d", l.ID, c, b.slotTime(from+i).Format(time.RFC3339), l.GPUs)
			}
		}
		for i := max(from, cur); i < to; i++ {
			if off := l.offered(i); off > int32(l.GPUs) {
				return fmt.Errorf("lease %s: %d GPUs offered for resale at %s, more than its %d", l.ID, off, b.slotTime(i).Format(time.RFC3339), l.GPUs)
			}
		}
		if len(l.Sellers) != len(l.shares) {
			return fmt.Errorf("lease %s: sellers out of sync", l.ID)
		}
	}
	for _, s := range b.sources {
		if len(s.cap) < b.n {
			return fmt.Errorf("source of %s has %d slots, not %d", s.owner, len(s.cap), b.n)
		}
		for i := cur; i < b.n; i++ {
			var u, p int32
			if used[s] != nil {
				u = used[s][i]
			}
			if spot[s] != nil {
				p = spot[s][i]
			}
			at := b.slotTime(i).Format(time.RFC3339)
			switch {
			case s.used[i] != u || s.spot[i] != p:
				return fmt.Errorf("%s at %s: counters say %d leased (%d spot), leases say %d (%d)", s.owner, at, s.used[i], s.spot[i], u, p)
			case u > s.cap[i]:
				return fmt.Errorf("%s at %s: %d GPUs leased of %d: leased twice", s.owner, at, u, s.cap[i])
			case s.resale != nil && s.cap[i] > 0 && (i < s.from || i >= s.to || i < s.backing.from() || i >= s.backing.to()):
				return fmt.Errorf("resale %s offers %s, outside lease %s", s.resale.ID, at, s.backing.ID)
			}
		}
	}
	if err := e.checkBinding(b, cur); err != nil {
		return err
	}
	for i := 1; i < len(b.bids); i++ {
		if !bidBefore(b.bids[i-1], b.bids[i]) {
			return fmt.Errorf("bids out of priority order at %s", b.bids[i].ID)
		}
	}
	for i := 1; i < len(b.fixed); i++ {
		if !b.askBefore(b.fixed[i-1], b.fixed[i]) {
			return fmt.Errorf("asks out of priority order")
		}
	}
	for i := 1; i < len(b.dynamic); i++ {
		if !b.before(b.dynamic[i-1], b.dynamic[i]) {
			return fmt.Errorf("opportunity-cost asks out of priority order")
		}
	}
	return nil
}
