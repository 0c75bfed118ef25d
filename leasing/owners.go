package leasing

import (
	"context"
	"fmt"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/ledger"
)

// PayoutResult is an owner's payout as posted (or found again by its key), with the
// balance it leaves.
type PayoutResult struct {
	Owner           string         `json:"owner"`
	AmountMicroUSD  joule.MicroUSD `json:"amount_micro_usd"`
	Key             string         `json:"key,omitempty"`
	Transaction     int64          `json:"transaction"` // the ledger transaction's ID
	At              time.Time      `json:"at"`
	BalanceMicroUSD joule.MicroUSD `json:"balance_micro_usd"`
}

// Payout pays amount of an owner's revenue balance out to the owner (a bank transfer
// made outside): only the operator pays out, never an owner itself. More than the
// balance is refused with EFORBIDDEN and nothing is posted. The key makes a retry
// harmless: the same key and amount find the first payout again; the same key with
// another amount is ECONFLICT. Empty, every call pays.
func (s *Service) Payout(ctx context.Context, who *joule.Account, owner, key string, amount joule.MicroUSD) (*PayoutResult, error) {
	if err := mustBe(who, joule.RoleOperator, "pay owners out"); err != nil {
		return nil, err
	}
	r, err := s.role(ctx, owner)
	switch {
	case joule.ErrorCode(err) == joule.ENOTFOUND:
		return nil, joule.Errorf(joule.ENOTFOUND, "no owner %q", owner)
	case err != nil:
		return nil, err
	case r != joule.RoleOwner:
		return nil, joule.Errorf(joule.EINVALID, "%s is a %s, not an owner: only owners are paid out", owner, r)
	}
	ledgerKey := ""
	if key != "" {
		ledgerKey = "payout:" + owner + ":" + key
	}
	var tx joule.LedgerTransaction
	err = s.op(ctx, func(ch *change) error {
		var err error
		tx, err = s.ledger.Payout(ledgerKey, ledger.OwnerRevenue(owner), amount)
		if joule.ErrorCode(err) == joule.EFORBIDDEN {
			return joule.Errorf(joule.EFORBIDDEN, "owner %s has a balance of %s: it cannot be paid %s; nothing was paid",
				owner, s.ledger.Balance(ledger.OwnerRevenue(owner)), amount)
		}
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%s paid out to owner %s", amount, owner)
		if key != "" {
			detail += " (key " + key + ")"
		}
		ch.Audit = append(ch.Audit, changeAudit(who, ch.At, "", "payout", detail))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PayoutResult{Owner: owner, AmountMicroUSD: amount, Key: key, Transaction: tx.ID, At: tx.At,
		BalanceMicroUSD: s.Balance(ledger.OwnerRevenue(owner))}, nil
}

// OwnerReport is what an owner of GPU servers at the sites sees of its business: the
// servers the sites' fleets hold for it, their listings, how much of what they offered
// was sold day by day, and the revenue balance the sales, fees and payouts leave.
// Earnings, fees and payouts month by month are on the owner's statement.
type OwnerReport struct {
	Owner string `json:"owner"`
	Name  string `json:"name"`
	// BalanceMicroUSD is the owner's revenue account: net sales less hosting and energy,
	// less what was paid out. Negative: the owner owes the site.
	BalanceMicroUSD joule.MicroUSD `json:"balance_micro_usd"`
	Servers         []OwnerServers `json:"servers"`
	Listings        []OwnerListing `json:"listings"`
	Days            []OwnerDay     `json:"days"`
	Leases          []joule.Lease  `json:"leases"` // on the owner's servers, newest first, as the owner sees them
}

// OwnerServers is one fleet of the owner's GPU servers at a site.
type OwnerServers struct {
	Site    string `json:"site"`
	Fleet   string `json:"fleet"`
	Model   string `json:"model"`
	Product string `json:"product"`
	Servers int    `json:"servers"`
	GPUs    int    `json:"gpus"`
}

// OwnerListing is the owner's listing in a product, with the product's fill priority.
type OwnerListing struct {
	joule.Listing
	GPUs         int                `json:"gpus"`
	FillPriority joule.FillPriority `json:"fill_priority"`
}

// OwnerDay is a UTC day of the owner's servers: GPU-hours offered and sold.
type OwnerDay struct {
	Day time.Time `json:"day"`
	// OfferedGPUHours counts, for every hour of the day its listings cover, the GPUs
	// they offer now (assumption: a listing's size over the days shown is its size
	// today; the store keeps no history of listings).
	OfferedGPUHours int64 `json:"offered_gpu_hours"`
	// SoldGPUHours counts the GPU-hours of the day that leases hold on the owner's
	// capacity, whether used yet or not: today's hours to come count once sold.
	SoldGPUHours int64 `json:"sold_gpu_hours"`
}

// OwnerReportDays is how many days an owner's report covers unless asked: a week.
const OwnerReportDays = 7

// ownerReportLeases is how many of the newest leases on an owner's servers a report reads.
const ownerReportLeases = 500

// Owner returns an owner's report over the days UTC days up to today: the owner sees
// its own, the operator anyone's; another account gets EFORBIDDEN.
func (s *Service) Owner(ctx context.Context, who *joule.Account, owner string, days int) (*OwnerReport, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to see an owner")
	}
	if !(who.Role == joule.RoleOperator || who.Role == joule.RoleOwner && who.ID == owner) {
		return nil, joule.Errorf(joule.EFORBIDDEN, "only the operator or the owner itself sees owner %s", owner)
	}
	a, err := s.store.Account(ctx, owner)
	if joule.ErrorCode(err) == joule.ENOTFOUND || err == nil && a.Role != joule.RoleOwner {
		return nil, joule.Errorf(joule.ENOTFOUND, "no owner %q", owner)
	}
	if err != nil {
		return nil, err
	}
	if days <= 0 {
		days = OwnerReportDays
	}
	days = min(days, 92)
	rep := &OwnerReport{Owner: a.ID, Name: a.Name, Servers: []OwnerServers{}, Listings: []OwnerListing{},
		Days: []OwnerDay{}, Leases: []joule.Lease{}}
	sites, err := s.sites(ctx)
	if err != nil {
		return nil, err
	}
	for _, site := range sites {
		for _, f := range site.Fleets {
			if f.Owner != owner || f.Model.Kind != joule.KindGPUServer || f.Model.GPUs <= 0 {
				continue
			}
			rep.Servers = append(rep.Servers, OwnerServers{Site: site.Site.Name, Fleet: f.Name, Model: f.Model.ID,
				Product: joule.ProductID(f.Model.ID, site.Site.Name), Servers: f.Count, GPUs: f.Count * f.Model.GPUs})
		}
	}
	now := s.cfg.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, 1-days)
	for d := range days {
		rep.Days = append(rep.Days, OwnerDay{Day: first.AddDate(0, 0, d)})
	}
	s.mu.RLock()
	for _, p := range s.engine.Products() {
		prio := s.engine.FillPriority(p.ID)
		for _, l := range s.engine.Listings(p.ID) {
			if l.Seller != owner {
				continue
			}
			gpus := l.Servers * p.GPUsPerNode
			rep.Listings = append(rep.Listings, OwnerListing{Listing: l, GPUs: gpus, FillPriority: prio})
			for i := range rep.Days {
				rep.Days[i].OfferedGPUHours += int64(gpus) * hoursWithin(rep.Days[i].Day, l.Start, l.End)
			}
		}
	}
	rep.BalanceMicroUSD = s.ledger.Balance(ledger.OwnerRevenue(owner))
	s.mu.RUnlock()
	leases, err := s.Leases(ctx, a, joule.LeaseFilter{Seller: owner, Limit: ownerReportLeases})
	if err != nil {
		return nil, err
	}
	rep.Leases = leases
	end := today.AddDate(0, 0, 1)
	for _, l := range leases {
		for _, sh := range l.Sellers {
			if sh.Seller != owner || sh.ResaleOrder != "" {
				continue
			}
			for i := range rep.Days {
				d := rep.Days[i].Day
				from, to := joule.Later(d, sh.Start), earliestOf(d.AddDate(0, 0, 1), sh.End, end)
				if to.After(from) {
					rep.Days[i].SoldGPUHours += int64(sh.GPUs) * int64(to.Sub(from)/time.Hour)
				}
			}
		}
	}
	return rep, nil
}

// hoursWithin counts the hours of day that a listing of [start, end) offers (end zero:
// open-ended).
func hoursWithin(day, start, end time.Time) int64 {
	from, to := joule.Later(day, start), day.AddDate(0, 0, 1)
	if !end.IsZero() {
		to = earliestOf(to, end)
	}
	if !to.After(from) {
		return 0
	}
	return int64(to.Sub(from) / time.Hour)
}

func earliestOf(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}
