package exchange

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// Binding: which servers a lease's GPUs are on.
//
// The counters of a source count GPUs; the binding names the servers behind them.
// Orders are whole servers (a multiple of the product's GPUsPerNode: the workload
// engine reserves whole nodes), so every counter is a multiple of GPUsPerNode too, and
// a slot of a source with f free GPUs has exactly f / GPUsPerNode servers that no lease
// holds. A share holds the same servers in every hour it covers: when one set cannot
// cover a run of hours (other leases hold some of its servers in some of them), the
// run is split into shares that each keep a set, changing as few servers as it can.
// A renewal or a share that continues another of the same lease prefers the servers it
// continues, so on-demand leases stay on their servers hour after hour.
//
// A resale source's servers are those its backing lease holds in each hour; a share
// bought from it takes some of them, and the backing lease records them in Resold, so
// that in those hours the servers are the buyer's and not the seller's.

// lookAheadSlots is how far past a share's hours bind looks for the server free longest.
const lookAheadSlots = 7 * 24

// gpusPerServer is the book's server size.
func (b *book) gpusPerServer() int32 { return int32(b.p.GPUsPerNode) }

// freeSet is which servers of a source are free in each slot of [a, z): a bitset per
// slot over names.
type freeSet struct {
	names []string       // the source's servers, in fill order (a resale: sorted)
	index map[string]int // name → bit
	a     int
	words int
	bits  []uint64 // (z-a) × words
}

func (f *freeSet) has(slot, k int) bool {
	return f.bits[(slot-f.a)*f.words+k/64]&(1<<(k%64)) != 0
}

func (f *freeSet) set(slot, k int, on bool) {
	w := &f.bits[(slot-f.a)*f.words+k/64]
	if on {
		*w |= 1 << (k % 64)
	} else {
		*w &^= 1 << (k % 64)
	}
}

// freeServers returns, for every slot of [a, z), the servers of s no lease holds there,
// nor any of the shares in own (those of a lease being bound, not yet in the book).
func (e *Engine) freeServers(b *book, s *source, a, z int, own []share) *freeSet {
	f := &freeSet{a: a, index: map[string]int{}}
	if s.resale == nil {
		f.names = s.names
	} else if s.backing != nil {
		seen := map[string]bool{}
		for _, sh := range s.backing.shares {
			for _, n := range sh.servers {
				if !seen[n] {
					seen[n] = true
					f.names = append(f.names, n)
				}
			}
		}
		slices.Sort(f.names)
	}
	for k, n := range f.names {
		f.index[n] = k
	}
	f.words = (len(f.names) + 63) / 64
	f.bits = make([]uint64, max(z-a, 0)*f.words)
	if s.resale == nil {
		full := make([]uint64, f.words) // every server's bit
		for k := range f.names {
			full[k/64] |= 1 << (k % 64)
		}
		for i := a; i < z; i++ {
			if i < len(s.cap) && s.cap[i] > 0 {
				copy(f.bits[(i-a)*f.words:], full)
			}
		}
	} else if s.backing != nil {
		for _, sh := range s.backing.shares {
			for _, n := range sh.servers {
				k := f.index[n]
				for i := max(sh.a, a); i < min(sh.z, z); i++ {
					f.set(i, k, true)
				}
			}
		}
	}
	take := func(shares []share) {
		for _, sh := range shares {
			if sh.z <= a || sh.a >= z || (sh.src != s && (s.resale == nil || sh.src.resale == nil || sh.src.backing != s.backing)) {
				continue
			}
			for _, n := range sh.servers {
				k, ok := f.index[n]
				if !ok {
					continue
				}
				for i := max(sh.a, a); i < min(sh.z, z); i++ {
					f.set(i, k, false)
				}
			}
		}
	}
	srcs := []*source{s}
	if s.resale != nil && s.backing != nil {
		srcs = s.backing.resales
	}
	for _, src := range srcs {
		for l := range src.holders {
			take(l.shares)
		}
	}
	take(own)
	return f
}

// hold notes that l has shares on their sources, for freeServers to look at.
func hold(l *leaseState) {
	for _, sh := range l.shares {
		if sh.src.holders == nil {
			sh.src.holders = map[*leaseState]struct{}{}
		}
		sh.src.holders[l] = struct{}{}
	}
}

// release forgets l on the sources of its shares.
func release(l *leaseState) {
	for _, sh := range l.shares {
		delete(sh.src.holders, l)
	}
}

// bind names the servers of a share that has none yet: it returns the share split
// where its servers must change, each part with its servers. prefer lists servers to
// keep, when they are free (those of the share this one continues).
func (e *Engine) bind(b *book, raw share, prefer []string, own []share) []share {
	k := int(raw.gpus / b.gpusPerServer())
	if raw.gpus%b.gpusPerServer() != 0 || k == 0 {
		return []share{raw} // not whole servers (stored before leases were bound): unbound
	}
	// Runs are measured past the share's own hours, up to a week after them (or the end
	// of the book): of servers free for all of them, the one free longest after keeps
	// the next renewal or block there. A week bounds the work of a bind.
	horizon := max(min(b.n, raw.z+lookAheadSlots), raw.z)
	free := e.freeServers(b, raw.src, raw.a, horizon, own)
	var out []share
	for i := raw.a; i < raw.z; {
		var cands []int // bits of the servers free at slot i
		runs := map[int]int{}
		for c := range free.names {
			if !free.has(i, c) {
				continue
			}
			j := i
			for j < horizon && free.has(j, c) {
				j++
			}
			cands = append(cands, c)
			runs[c] = j
		}
		preferred := func(c int) int {
			if slices.Contains(prefer, free.names[c]) {
				return 0
			}
			return 1
		}
		slices.SortFunc(cands, func(x, y int) int {
			return cmp.Or(cmp.Compare(preferred(x), preferred(y)), cmp.Compare(runs[y], runs[x]), cmp.Compare(x, y))
		})
		chosen := make([]string, 0, k)
		end := raw.z
		for _, c := range cands[:min(k, len(cands))] {
			chosen = append(chosen, free.names[c])
			end = min(end, runs[c])
		}
		if len(chosen) < k || end <= i { // cannot happen while the counters hold
			return append(out, share{raw.src, i, raw.z, raw.gpus, raw.price, chosen})
		}
		slices.Sort(chosen)
		out = append(out, share{raw.src, i, end, raw.gpus, raw.price, chosen})
		prefer, i = chosen, end
	}
	return out
}

// bindAll binds fresh shares of lease l (in slot order), each preferring the servers
// of the share of l it continues on the same source.
func (e *Engine) bindAll(l *leaseState, fresh []share) []share {
	var out []share
	for _, f := range fresh {
		var prefer []string
		for _, s := range slices.Concat(l.shares, out) {
			if s.src == f.src && s.z == f.a {
				prefer = s.servers
			}
		}
		out = append(out, e.bind(l.b, f, prefer, out)...)
	}
	return out
}

// recordRelease notes on the lease a resale sold from that share s of buyer now holds
// some of its servers.
func (e *Engine) recordRelease(buyer *leaseState, s share) {
	r := s.src.resale
	backing := s.src.backing
	if r == nil || backing == nil {
		return
	}
	old := backing.Resold
	e.onUndo(func() { backing.Resold = old })
	backing.Resold = append(slices.Clip(old), joule.LeaseRelease{
		ResaleOrder: r.ID, Lease: buyer.ID, Servers: s.servers,
		Start: buyer.b.slotTime(s.a), End: buyer.b.slotTime(s.z),
	})
	e.touchLease(backing)
}

// boundServers returns the servers of listing s that a lease holds in slot cur or later.
func (e *Engine) boundServers(b *book, s *source, cur int) map[string]bool {
	out := map[string]bool{}
	for _, l := range e.leases {
		if l.b != b {
			continue
		}
		for _, sh := range l.shares {
			if sh.src == s && sh.z > cur {
				for _, n := range sh.servers {
					out[n] = true
				}
			}
		}
	}
	return out
}

// checkBinding verifies from slot cur on that every whole-server share names its
// servers, that no server of a listing is held by two shares in one slot, that a
// share bought from a resale holds servers its backing lease holds, no two buyers
// the same, and that the backing lease's Resold says exactly what it sold.
func (e *Engine) checkBinding(b *book, cur int) error {
	gpn := b.gpusPerServer()
	type key struct {
		src  *source // a listing, or for resale the backing lease's first resale source
		back *leaseState
		slot int
		node string
	}
	held := map[key]string{}
	resold := map[*leaseState]map[int][]string{}
	for _, l := range e.leases {
		if l.b != b {
			continue
		}
		for _, sh := range l.shares {
			if sh.gpus%gpn != 0 {
				if len(sh.servers) != 0 {
					return fmt.Errorf("lease %s: a share of %d GPUs names servers", l.ID, sh.gpus)
				}
				continue
			}
			if len(sh.servers) != int(sh.gpus/gpn) || !slices.IsSorted(sh.servers) || len(slices.Compact(slices.Clone(sh.servers))) != len(sh.servers) {
				return fmt.Errorf("lease %s: a share of %d GPUs holds servers %v", l.ID, sh.gpus, sh.servers)
			}
			for i := max(sh.a, cur); i < sh.z; i++ {
				for _, n := range sh.servers {
					k := key{src: sh.src, slot: i, node: n}
					if sh.src.resale != nil {
						k = key{back: sh.src.backing, slot: i, node: n}
						if !slices.Contains(holdsAt(sh.src.backing, i), n) {
							return fmt.Errorf("lease %s bought %s at %s from lease %s, which does not hold it", l.ID, n, b.slotTime(i).Format(time.RFC3339), sh.src.backing.ID)
						}
						if resold[sh.src.backing] == nil {
							resold[sh.src.backing] = map[int][]string{}
						}
						resold[sh.src.backing][i] = append(resold[sh.src.backing][i], n)
					} else if !slices.Contains(sh.src.names, n) {
						return fmt.Errorf("lease %s holds %s, not a server of %s", l.ID, n, sh.src.owner)
					}
					if other, ok := held[k]; ok {
						return fmt.Errorf("server %s is bound to leases %s and %s at %s", n, other, l.ID, b.slotTime(i).Format(time.RFC3339))
					}
					held[k] = l.ID
				}
			}
		}
	}
	for _, l := range e.leases {
		if l.b != b {
			continue
		}
		for i := max(l.from(), cur); i < l.to(); i++ {
			var said []string
			for _, r := range l.Resold {
				if t := b.slotTime(i); !t.Before(r.Start) && t.Before(r.End) {
					said = append(said, r.Servers...)
				}
			}
			slices.Sort(said)
			sold := slices.Sorted(slices.Values(resold[l][i]))
			if !slices.Equal(said, sold) {
				return fmt.Errorf("lease %s at %s: resold says %v, its buyers hold %v", l.ID, b.slotTime(i).Format(time.RFC3339), said, sold)
			}
		}
	}
	return nil
}

// holdsAt is the servers of l's shares in slot i, before resale.
func holdsAt(l *leaseState, i int) []string {
	var out []string
	for _, sh := range l.shares {
		if sh.a <= i && i < sh.z {
			out = append(out, sh.servers...)
		}
	}
	return out
}
