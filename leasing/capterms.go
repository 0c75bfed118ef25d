package leasing

import (
	"context"
	"fmt"

	"github.com/joule-site/joule"
)

// SetCapTerms sets how a product's spot and curtailable leases may be capped
// (joule.CapTerms; the zero terms never cap); only the operator sets them. They are
// stored with the product and apply from the next plan: dispatch caps such leases'
// servers to the terms before it stops any of them.
func (s *Service) SetCapTerms(ctx context.Context, who *joule.Account, terms joule.CapTerms) (*joule.CapTerms, error) {
	if err := mustBe(who, joule.RoleOperator, "set cap terms"); err != nil {
		return nil, err
	}
	if err := terms.Validate(); err != nil {
		return nil, err
	}
	err := s.op(ctx, func(ch *change) error {
		site := s.productSite(terms.Product)
		if site == "" {
			return joule.Errorf(joule.ENOTFOUND, "no product %q", terms.Product)
		}
		was := s.capTerms[terms.Product]
		ch.CapTerms = append(ch.CapTerms, terms)
		if terms.Capped() {
			s.capTerms[terms.Product] = terms
		} else {
			delete(s.capTerms, terms.Product)
		}
		if was.CapFrac == terms.CapFrac && was.CappedPriceBPS == terms.CappedPriceBPS {
			return nil
		}
		ch.Audit = append(ch.Audit, changeAudit(who, ch.At, site, "cap terms set",
			fmt.Sprintf("%s: %s (was %s)", terms.Product, capText(terms), capText(was))))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &terms, nil
}

// CapTerms returns every product's cap terms (the zero terms for a product never
// capped); anyone signed in may see them.
func (s *Service) CapTerms(_ context.Context, who *joule.Account) ([]joule.CapTerms, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to see cap terms")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []joule.CapTerms{}
	for _, p := range s.engine.Products() {
		ct := s.capTerms[p.ID]
		ct.Product = p.ID
		out = append(out, ct)
	}
	return out, nil
}

// capTermsOf returns a product's cap terms; the caller holds s.mu.
func (s *Service) capTermsOf(product string) joule.CapTerms {
	ct := s.capTerms[product]
	ct.Product = product
	return ct
}

// capText describes cap terms for the audit log.
func capText(c joule.CapTerms) string {
	if !c.Capped() {
		return "never capped"
	}
	return fmt.Sprintf("capped to %.0f%% of power, billed at %.2f%% while capped", c.CapFrac*100, float64(c.CappedPriceBPS)/100)
}
