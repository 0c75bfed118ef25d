package main

import (
	"context"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/postgres"
)

// advertiseURL is where others reach this server: --advertise-url, or where it listens.
func (m *Main) advertiseURL() string {
	if m.AdvertiseURL != "" {
		return m.AdvertiseURL
	}
	return m.app.server.URL()
}

// checkAdvertised refuses to campaign with a URL the other replicas cannot use: the
// listening address is all interfaces (0.0.0.0, ::) and no --advertise-url names this
// host. A loopback address is fine for replicas on one machine, and is logged.
func (m *Main) checkAdvertised() error {
	if m.AdvertiseURL != "" {
		u, err := url.Parse(m.AdvertiseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return joule.Errorf(joule.EINVALID, "--advertise-url %q: want http://HOST:PORT or https://HOST:PORT", m.AdvertiseURL)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(m.app.server.Addr)
	ip := net.ParseIP(host)
	switch {
	case err == nil && (host == "" || (ip != nil && ip.IsUnspecified())):
		return joule.Errorf(joule.EINVALID, "serve on PostgreSQL listens on all interfaces (--addr %s): give --advertise-url, the URL the other replicas reach this one at", m.app.server.Addr)
	case ip != nil && ip.IsLoopback():
		m.Log.Info("leadership: advertising a loopback URL: only replicas on this machine can send writes here (--advertise-url)", "addr", m.app.server.Addr)
	}
	return nil
}

// replicate makes a server on PostgreSQL a replica before it serves: its store refuses
// writes, and its API sends them on, until it leads (postgres.Elector). On SQLite it is
// the only process, and leads.
func (m *Main) replicate() error {
	pg := m.app.db.pg
	if pg == nil {
		return nil
	}
	if err := m.checkAdvertised(); err != nil {
		return err
	}
	pg.Fence(0)
	m.elector = &postgres.Elector{DB: pg, Lease: m.LeaderLease, Log: m.Log}
	m.app.server.Replica = m.elector
	return nil
}

// campaign adds the actor that runs the leader's actors while this replica leads: on
// PostgreSQL an election among the replicas, on SQLite the one term of the only
// process. When a leader's actor fails, the server fails, as it does for any actor.
// Call it once the server listens: the election stores the URL it is reached at.
func (m *Main) campaign() {
	run := func(ctx context.Context, lead func(context.Context, int64)) error {
		lead(ctx, 1) // the only process on its file
		return nil
	}
	if m.elector != nil {
		m.elector.URL = m.advertiseURL()
		run = m.elector.Run
	}
	m.add("leadership", func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var once sync.Once
		var failure error
		err := run(ctx, func(term context.Context, epoch int64) {
			if err := m.lead(term, epoch); err != nil {
				once.Do(func() { failure = err; cancel() })
			}
		})
		if failure != nil {
			return failure
		}
		return err
	})
}

// lead runs the leader's actors for the term of epoch until its context ends. A new
// term first loads the exchange from the store as the last leader left it (retried
// until it succeeds, or the term ends).
func (m *Main) lead(ctx context.Context, epoch int64) error {
	if epoch != m.ledEpoch {
		for {
			err := m.app.exchange.Lead(ctx)
			if err == nil {
				break
			}
			m.Log.Warn("leadership: load the exchange", "epoch", epoch, "err", err)
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		m.ledEpoch = epoch
	}
	m.Log.Info("leading", "epoch", epoch, "actors", len(m.leaderActors))
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := m.runGroup(tctx, cancel, m.leaderActors)
	if ctx.Err() != nil {
		m.Log.Info("no longer leading", "epoch", epoch)
		return nil
	}
	if err == nil {
		err = joule.Errorf(joule.EINTERNAL, "the leader's actors stopped")
	}
	return err
}
