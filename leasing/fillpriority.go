package leasing

import (
	"context"
	"fmt"

	"github.com/joule-site/joule"
)

// SetFillPriority sets, in a product, whose listing fills first when the operator's and
// owners' listings ask the same price (joule.FillPriority); only the operator sets it.
// It is stored with the product, so a restarted exchange keeps it, and moves no lease
// already made.
func (s *Service) SetFillPriority(ctx context.Context, who *joule.Account, product string, p joule.FillPriority) (*joule.ProductFillPriority, error) {
	if err := mustBe(who, joule.RoleOperator, "set the fill priority"); err != nil {
		return nil, err
	}
	if !p.Valid() {
		return nil, joule.Errorf(joule.EINVALID, "fill priority must be one of %q, not %q", joule.FillPriorities, p)
	}
	out := joule.ProductFillPriority{Product: product, Priority: p}
	err := s.op(ctx, func(ch *change) error {
		was := s.engine.FillPriority(product)
		if err := s.engine.SetFillPriority(product, p); err != nil {
			return err
		}
		ch.FillPriorities = append(ch.FillPriorities, out)
		if was == p {
			return nil
		}
		ch.Audit = append(ch.Audit, changeAudit(who, ch.At, s.productSite(product), "fill priority set",
			fmt.Sprintf("%s: at one ask, %s (was %s)", product, p, was)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FillPriorities returns every product's fill priority; anyone signed in may see them.
func (s *Service) FillPriorities(_ context.Context, who *joule.Account) ([]joule.ProductFillPriority, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to see fill priorities")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []joule.ProductFillPriority{}
	for _, p := range s.engine.Products() {
		out = append(out, joule.ProductFillPriority{Product: p.ID, Priority: s.engine.FillPriority(p.ID)})
	}
	return out, nil
}
