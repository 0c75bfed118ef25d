package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/delivery"
)

// Delivery is what the lease access and usage routes ask: the workload engine's side
// of the leases (delivery.Service).
type Delivery interface {
	Access(ctx context.Context, who *joule.Account, lease string) (*delivery.Access, error)
	Usage(ctx context.Context, who *joule.Account, lease string) (*delivery.Usage, error)
}

// delivery is the delivery service, or an error when this server drives no engine.
func (s *Server) delivery() (Delivery, error) {
	if s.Delivery == nil {
		return nil, joule.Errorf(joule.ENOTFOUND, "this server drives no workload engine (joule serve --engine slurm)")
	}
	return s.Delivery, nil
}

func (s *Server) handleLeaseAccess(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	d, err := s.delivery()
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	a, err := d.Access(r.Context(), who, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, a, err)
}

func (s *Server) handleLeaseUsage(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	d, err := s.delivery()
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	u, err := d.Usage(r.Context(), who, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, u, err)
}

// LeaseAccess says how a lease's tenant submits jobs to its servers.
func (c *Client) LeaseAccess(ctx context.Context, lease string) (*delivery.Access, error) {
	var out delivery.Access
	return &out, c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(lease)+"/access", nil, nil, &out)
}

// LeaseUsage reads a lease's GPU-seconds from the engine's accounting beside those billed.
func (c *Client) LeaseUsage(ctx context.Context, lease string) (*delivery.Usage, error) {
	var out delivery.Usage
	return &out, c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(lease)+"/usage", nil, nil, &out)
}
