package leasing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/ledger"
	"github.com/joule-site/joule/sla"
)

// CreditHour assesses every lease of a site that held servers in the hour that starts
// at hour against its servers' telemetry samples (sla.Assess, share by share, each at
// its own price and seller) and posts what each is owed as a service credit: the
// refund taken back from the share's seller and the platform, the penalty paid by the
// site's operator. Demand-response events excuse a curtailable lease's time off from
// when its notice ran out after the event was announced to the event's end. A credit's
// key names its lease, share and hour, so assessing an hour again posts nothing twice.
// Only the operator assesses.
func (s *Service) CreditHour(ctx context.Context, who *joule.Account, site *joule.ResolvedSite, hour time.Time, samples []sla.Sample, events []*joule.DemandResponse, terms sla.Terms) ([]sla.Result, error) {
	if err := mustBe(who, joule.RoleOperator, "post service credits"); err != nil {
		return nil, err
	}
	if !joule.HourAligned(hour) {
		return nil, joule.Errorf(joule.EINVALID, "service credits are assessed by the hour: %s is not on the hour", hour.Format(time.RFC3339))
	}
	from, to := hour, hour.Add(time.Hour)
	var out []sla.Result
	err := s.op(ctx, func(ch *change) error {
		out = out[:0]
		products := map[string]joule.Product{}
		for _, p := range s.engine.Products() {
			if p.Site == site.Site.Name {
				products[p.ID] = p
			}
		}
		for _, l := range s.engine.Leases("", from) {
			p, ok := products[l.Product]
			if !ok {
				continue
			}
			held := l.ServersAt(from)
			for i, sh := range l.Sellers {
				a, b := joule.Later(from, sh.Start), joule.Earlier(to, sh.End)
				if !b.After(a) {
					continue
				}
				if a, b = joule.Later(a, l.Start), joule.Earlier(b, l.End); !b.After(a) {
					continue
				}
				sl := sla.Lease{ID: l.ID, Tenant: l.Tenant, Class: l.Class, GPUsPerServer: p.GPUsPerNode,
					PriceMicroUSDPerGPUHour: sh.PriceMicroUSDPerGPUHour, Excused: excused(&l, events)}
				if ct := s.capTerms[p.ID]; ct.Capped() && l.Class != joule.LeaseFirm {
					sl.CappedMicroUSDPerGPUHour = ct.CappedPrice(sh.PriceMicroUSDPerGPUHour) // capped hours billed at the capped rate
				}
				for _, n := range sh.Servers {
					if slices.Contains(held, n) { // not resold for the hour
						sl.Holds = append(sl.Holds, sla.Hold{Server: n, Start: a, End: b})
					}
				}
				r := sla.Assess(&sl, samples, terms)
				out = append(out, r)
				if r.Owed() <= 0 {
					continue
				}
				seller, err := s.sellerAccount(ctx, sh.Seller, sh.ResaleOrder)
				if err != nil {
					return err
				}
				memo := fmt.Sprintf("%s, %s to %s UTC: %s of %d GPUs not served as sold", l.ID, a.Format("2006-01-02 15:04"), b.Format("15:04"),
					time.Duration(r.UnservedSec+r.ExcusedSec)*time.Second, p.GPUsPerNode)
				_, err = s.ledger.Credit(ledger.Credit{Key: fmt.Sprintf("sla:%s:%d:%d", l.ID, i, from.Unix()), Tenant: l.Tenant, Lease: l.ID,
					Refund: r.RefundMicroUSD, Seller: seller, FeeBPS: s.cfg.FeeBPS,
					Penalty: r.PenaltyMicroUSD, Payer: ledger.OperatorRevenue(s.cfg.Operator), Memo: memo})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// excused are the windows in which demand-response events let a curtailable lease be
// off: from when its notice ran out after each event was announced to the event's end
// (or its cancellation).
func excused(l *joule.Lease, events []*joule.DemandResponse) []sla.Window {
	if l.Class != joule.LeaseCurtailable {
		return nil
	}
	var ws []sla.Window
	for _, e := range events {
		start := e.CreatedAt.Add(time.Duration(l.NoticeSec) * time.Second)
		end := e.End
		if !e.CancelledAt.IsZero() && (end.IsZero() || e.CancelledAt.Before(end)) {
			end = e.CancelledAt
		}
		if end.IsZero() {
			end = time.Unix(1<<40, 0) // open-ended: until cancelled
		}
		if end.After(start) {
			ws = append(ws, sla.Window{Start: start, End: end})
		}
	}
	return ws
}
