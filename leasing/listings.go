package leasing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// sellerKey names one seller's listing in one product.
type sellerKey struct{ product, seller string }

// SyncListings makes the exchange's listings match the sites' GPU server fleets: one
// product per GPU server model and site ("h100-sxm/west-texas"), one listing per
// product and seller (the fleet's owner, or the operator for the site's own servers)
// with the sum of their servers, named by ServerNames: the names leases bind to, and
// the servers' node names in the workload engine. A new listing asks Config.DefaultAsk; an existing one
// keeps its ask. A fleet that shrank below what is leased keeps its listing as it was
// (logged) until the leases end. Owners named by fleets get accounts.
func (s *Service) SyncListings(ctx context.Context) error {
	if s.cfg.Sites == nil || s.cfg.Fleets == nil || s.cfg.Models == nil {
		return nil
	}
	products, want, err := s.fleetCapacity(ctx)
	if err != nil {
		return err
	}
	return s.op(ctx, func(ch *change) error {
		for _, p := range products {
			if !slices.Contains(s.engine.Products(), p) {
				if err := s.engine.AddProduct(p); err != nil {
					s.cfg.Logger.Warn("leasing: product", "product", p.ID, "err", err)
					continue
				}
				ch.Products = append(ch.Products, p)
			}
		}
		have := map[sellerKey]joule.Listing{}
		for _, p := range s.engine.Products() {
			for _, l := range s.engine.Listings(p.ID) {
				have[sellerKey{l.Product, l.Seller}] = l
			}
		}
		keys := make([]sellerKey, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		for k, l := range have {
			if _, ok := want[k]; !ok && l.Servers > 0 {
				keys = append(keys, k) // its fleets are gone: nothing left to sell
			}
		}
		slices.SortFunc(keys, func(a, b sellerKey) int {
			return cmp.Or(strings.Compare(a.product, b.product), strings.Compare(a.seller, b.seller))
		})
		for _, k := range keys {
			l, ok := have[k]
			if ok && l.Servers == len(want[k]) && slices.Equal(l.Nodes, want[k]) {
				continue
			}
			if !ok {
				if err := s.ensureSeller(ctx, ch, k.seller); err != nil {
					s.cfg.Logger.Warn("leasing: seller", "seller", k.seller, "err", err)
					continue
				}
				l = joule.Listing{Product: k.product, Seller: k.seller, Start: ch.At.Truncate(time.Hour), AskMicroUSDPerGPUHour: s.cfg.DefaultAsk}
			}
			l.Servers, l.Nodes = len(want[k]), want[k]
			if err := s.setListing(ctx, ch, l); err != nil {
				s.cfg.Logger.Warn("leasing: listing", "product", k.product, "seller", k.seller, "err", err)
			}
		}
		return nil
	})
}

// ServerNames names a GPU server fleet's servers: "<fleet>-01" to "<fleet>-NN" (more
// digits past 99). A site's GPU servers carry these names as their Slurm node names
// and their joule node names, so that a lease's binding, the engine's reservation and
// the agent's view of a server agree.
func ServerNames(f joule.ResolvedFleet) []string { return joule.DefaultNodeNames(f.Name, f.Count) }

// fleetCapacity reads the GPU server fleets of every site: the products they make
// and the servers each seller has in each, named, fleets in name order.
func (s *Service) fleetCapacity(ctx context.Context) ([]joule.Product, map[sellerKey][]string, error) {
	sites, err := s.sites(ctx)
	if err != nil {
		return nil, nil, err
	}
	var products []joule.Product
	want := map[sellerKey][]string{}
	for _, site := range sites {
		for _, f := range site.Fleets {
			m := f.Model
			if m.Kind != joule.KindGPUServer || m.GPUs <= 0 {
				continue
			}
			p := joule.Product{ID: joule.ProductID(m.ID, site.Site.Name), Model: m.ID, Site: site.Site.Name, GPUsPerNode: m.GPUs}
			if !slices.Contains(products, p) {
				products = append(products, p)
			}
			k := sellerKey{p.ID, f.Seller(s.cfg.Operator)}
			want[k] = append(want[k], ServerNames(f)...)
		}
	}
	return products, want, nil
}

// sites reads every site with its fleets' models, or none when the exchange is not
// told where sites are. A site that does not resolve is logged and left out: listings,
// hosting, energy and repricing go on for the others.
func (s *Service) sites(ctx context.Context) ([]*joule.ResolvedSite, error) {
	if s.cfg.Sites == nil || s.cfg.Fleets == nil || s.cfg.Models == nil {
		return nil, nil
	}
	sites, err := joule.SiteLoader{Sites: s.cfg.Sites, Fleets: s.cfg.Fleets, Models: s.cfg.Models}.LoadAll(ctx)
	if err != nil && sites != nil {
		s.cfg.Logger.Warn("leasing: sites left out", "err", err)
		err = nil
	}
	return sites, err
}

// ensureSeller creates an owner's account, without a token, when a fleet names an
// owner the exchange does not know yet.
func (s *Service) ensureSeller(ctx context.Context, ch *change, id string) error {
	r, err := s.role(ctx, id)
	switch {
	case err == nil && r == joule.RoleTenant:
		return joule.Errorf(joule.EINVALID, "fleet owner %s is a tenant", id)
	case err == nil:
		return nil
	case joule.ErrorCode(err) != joule.ENOTFOUND:
		return err
	}
	a := joule.Account{ID: id, Name: id, Role: joule.RoleOwner}
	if err := a.Validate(); err != nil {
		return err
	}
	for _, na := range ch.Accounts {
		if na.ID == id {
			return nil
		}
	}
	ch.Accounts = append(ch.Accounts, joule.NewAccount{Account: a})
	return nil
}

// setListing sets a listing in the engine and settles what rematching did.
func (s *Service) setListing(ctx context.Context, ch *change, l joule.Listing) error {
	r, err := s.engine.SetListing(l)
	if err != nil {
		return err
	}
	ch.Listings = append(ch.Listings, l)
	return s.settle(ctx, ch, r)
}

// SetAsk sets the ask of a seller's listing in a product, in micro-dollars per
// GPU-hour: the operator for any seller, an owner for its own. Resting bids at or
// above the new ask fill at once.
//
// With opportunityCost the ask follows the opportunity cost of the GPUs' power (the
// service's Pricing hook: what the site's miners would earn on it), and ask is the
// floor under it.
func (s *Service) SetAsk(ctx context.Context, who *joule.Account, product, seller string, ask joule.MicroUSD, opportunityCost bool) (*joule.Listing, error) {
	if seller == "" && who != nil {
		seller = who.ID
	}
	if who == nil || !(who.Role == joule.RoleOperator || who.Role == joule.RoleOwner && who.ID == seller) {
		return nil, joule.Errorf(joule.EFORBIDDEN, "only the operator or the listing's owner sets its ask")
	}
	if ask < 0 {
		return nil, joule.Errorf(joule.EINVALID, "the ask must not be negative")
	}
	if opportunityCost && s.cfg.Pricing == nil {
		return nil, joule.Errorf(joule.EINVALID, "opportunity-cost asks need the server's market feeds (joule serve prices them)")
	}
	var out joule.Listing
	err := s.op(ctx, func(ch *change) error {
		for _, l := range s.engine.Listings(product) {
			if l.Seller == seller {
				l.AskMicroUSDPerGPUHour, l.OpportunityCost = ask, opportunityCost
				out = l
				ch.Audit = append(ch.Audit, changeAudit(who, ch.At, s.productSite(product), "ask set", askText(l)))
				return s.setListing(ctx, ch, l)
			}
		}
		return joule.Errorf(joule.ENOTFOUND, "%s has no listing in %s", seller, product)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// productSite is the site a product's servers are at; "" for an unknown product.
func (s *Service) productSite(product string) string {
	for _, p := range s.engine.Products() {
		if p.ID == product {
			return p.Site
		}
	}
	return ""
}

// askText describes a listing's ask for the audit log.
func askText(l joule.Listing) string {
	if l.OpportunityCost {
		return fmt.Sprintf("%s: %s asks the opportunity cost of its power, at least %s per GPU-hour", l.Product, l.Seller, l.AskMicroUSDPerGPUHour)
	}
	return fmt.Sprintf("%s: %s asks %s per GPU-hour", l.Product, l.Seller, l.AskMicroUSDPerGPUHour)
}

// Reprice asks the matcher to re-read the opportunity-cost asks of every product (after
// the market moved) and rematches what that frees.
func (s *Service) Reprice(ctx context.Context) error {
	return s.op(ctx, func(ch *change) error {
		for _, p := range s.engine.Products() {
			r, err := s.engine.Reprice(p.ID)
			if err != nil {
				return err
			}
			if err := s.settle(ctx, ch, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// ProductInfo is a product with its listings now.
type ProductInfo struct {
	joule.Product
	// CapacityGPUs is the product's total GPUs: listed servers × GPUs per server.
	CapacityGPUs int             `json:"capacity_gpus"`
	Listings     []joule.Listing `json:"listings"`
}

// Products lists the products on the exchange with their listings; everyone signed in
// sees them.
func (s *Service) Products(ctx context.Context, who *joule.Account) ([]ProductInfo, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to list products")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []ProductInfo{}
	for _, p := range s.engine.Products() {
		out = append(out, ProductInfo{Product: p, CapacityGPUs: s.capacityGPUs(p), Listings: s.engine.Listings(p.ID)})
	}
	return out, nil
}

// capacityGPUs is a product's total GPUs: listed servers × GPUs per server, whatever
// the listings' windows. The caller holds s.mu.
func (s *Service) capacityGPUs(p joule.Product) int {
	n := 0
	for _, l := range s.engine.Listings(p.ID) {
		n += l.Servers * p.GPUsPerNode
	}
	return n
}

// checkCapacity refuses a bid for more GPUs than its product has in all, which could
// never fill: it would rest and hold the tenant's credit for nothing. A resale is
// bounded by its lease instead, and an unknown product is the matcher's to refuse.
// The caller holds s.mu.
func (s *Service) checkCapacity(o *joule.Order) error {
	if o.Kind == joule.OrderResale {
		return nil
	}
	for _, p := range s.engine.Products() {
		if p.ID == o.Product {
			if all := s.capacityGPUs(p); o.GPUs > all {
				return joule.Errorf(joule.ECAPACITY, "product %s has %d GPUs in all; an order for %d can never fill", p.ID, all, o.GPUs)
			}
		}
	}
	return nil
}
