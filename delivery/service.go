package delivery

import (
	"context"

	"github.com/joule-site/joule"
)

// LeaseFinder finds leases as an account may see them (leasing.Service.Leases).
type LeaseFinder interface {
	Leases(ctx context.Context, who *joule.Account, f joule.LeaseFilter) ([]joule.Lease, error)
}

// Service answers the API's questions about a lease's compute: how to submit to it,
// and what it used beside what it was billed. Only the lease's tenant and the
// operator may ask.
type Service struct {
	Reconciler *Reconciler
	Leases     LeaseFinder
}

// lease finds a lease who may ask about.
func (s *Service) lease(ctx context.Context, who *joule.Account, id string) (joule.Lease, error) {
	switch {
	case who == nil:
		return joule.Lease{}, joule.Errorf(joule.EUNAUTHORIZED, "sign in to see a lease's access")
	case who.Role != joule.RoleTenant && who.Role != joule.RoleOperator:
		return joule.Lease{}, joule.Errorf(joule.EFORBIDDEN, "only a lease's tenant and the operator see how to use it")
	}
	ls, err := s.Leases.Leases(ctx, who, joule.LeaseFilter{ID: id, Limit: 1})
	if err != nil {
		return joule.Lease{}, err
	}
	if len(ls) == 0 || (who.Role == joule.RoleTenant && ls[0].Tenant != who.ID) {
		return joule.Lease{}, joule.Errorf(joule.ENOTFOUND, "lease %s not found", id)
	}
	return ls[0], nil
}

// Access says how the tenant of lease id submits jobs to its servers.
func (s *Service) Access(ctx context.Context, who *joule.Account, id string) (*Access, error) {
	l, err := s.lease(ctx, who, id)
	if err != nil {
		return nil, err
	}
	a := s.Reconciler.Access(l)
	return &a, nil
}

// Usage reads lease id's jobs from the engine's accounting beside what it was billed.
func (s *Service) Usage(ctx context.Context, who *joule.Account, id string) (*Usage, error) {
	l, err := s.lease(ctx, who, id)
	if err != nil {
		return nil, err
	}
	u, err := s.Reconciler.Usage(ctx, l)
	if err != nil {
		return nil, joule.Errorf(joule.EUNAVAILABLE, "the workload engine's accounting did not answer: %v", err)
	}
	return &u, nil
}
