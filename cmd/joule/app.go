package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/pricing"
	"github.com/joule-site/joule/sqlite"
)

// app is Joule wired on a store: the API server's services over the store, the
// embedded history and the catalog.
type app struct {
	db     *sqlite.DB
	server *jhttp.Server
	models catalog.Models
}

// openApp opens the store named by dsn and wires the API around it.
func openApp(dsn string, log *slog.Logger) (*app, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return nil, joule.Errorf(joule.EINVALID, "--db %s: the PostgreSQL store is not built yet; use a SQLite file path", redact(dsn))
	}
	hist, err := history.Default()
	if err != nil {
		return nil, fmt.Errorf("load market history: %w", err)
	}
	db := sqlite.NewDB(dsn)
	if err := db.Open(); err != nil {
		return nil, joule.Errorf(joule.EINVALID, "open store %s: %v", dsn, err)
	}
	models := catalog.Models{User: sqlite.NewHardwareService(db)}
	s := jhttp.NewServer()
	s.Logger = log
	s.Sites = sqlite.NewSiteService(db)
	s.Fleets = sqlite.NewFleetService(db)
	s.Manifests = sqlite.NewManifestService(db)
	s.Models = models
	s.Pricer = &pricing.Pricer{History: hist, Models: models}
	s.Live = sqlite.NewLiveService(db)
	return &app{db: db, server: s, models: models}, nil
}

func (a *app) Close() error { return a.db.Close() }

// redact hides a password in a connection URL.
func redact(dsn string) string {
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"); i >= 0 && j > i {
		return dsn[:i+3] + "…" + dsn[j:]
	}
	return dsn
}

// withClient runs fn with a client of the server named by --server, or of an
// in-process API on the local store.
func withClient(ctx context.Context, g *globals, fn func(*jhttp.Client) error) error {
	if g.server != "" {
		return fn(jhttp.NewClient(strings.TrimRight(g.server, "/")))
	}
	a, err := openApp(g.db, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(jhttp.NewLocalClient(a.server))
}
