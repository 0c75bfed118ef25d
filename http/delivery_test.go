package http_test

import (
	"context"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/delivery"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
)

// quietEngine is a workload engine that holds nothing and ran no job: enough for the
// routes' shape (the delivery package's tests run the real Slurm).
type quietEngine struct{ delivery.Engine }

func (quietEngine) Usage(context.Context, string, time.Time, time.Time) ([]joule.JobUsage, error) {
	return nil, nil
}

// withDelivery gives s a delivery service over its exchange, as joule serve --engine does.
func withDelivery(s *jhttp.Server, now func() time.Time) {
	svc := s.Leasing.(*leasing.Service)
	s.Delivery = &delivery.Service{Leases: svc, Reconciler: delivery.New(delivery.Config{Engine: quietEngine{}, Leases: svc, Now: now,
		Partition: "gpu", LoginHost: "login.west-texas.example"})}
}
