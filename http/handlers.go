package http

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/manifest"
)

// MaxManifestBytes bounds the size of a manifest posted to /api/v1/apply.
const MaxManifestBytes = 8 << 20

// SiteDetail is a site with its fleets, as the API returns it.
type SiteDetail struct {
	*joule.Site
	Fleets []*joule.Fleet `json:"fleets"`
}

func (s *Server) siteDetail(r *http.Request, site *joule.Site) (*SiteDetail, error) {
	fleets, err := s.Fleets.Fleets(r.Context(), site.Name)
	if err != nil {
		return nil, err
	}
	if fleets == nil {
		fleets = []*joule.Fleet{}
	}
	return &SiteDetail{Site: site, Fleets: fleets}, nil
}

func (s *Server) handleSites(w http.ResponseWriter, r *http.Request) {
	sites, err := s.Sites.Sites(r.Context())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	out := []*SiteDetail{}
	for _, site := range sites {
		d, err := s.siteDetail(r, site)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": out})
}

// siteLoader reads the server's sites with their fleets' models resolved.
func (s *Server) siteLoader() joule.SiteLoader {
	return joule.SiteLoader{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models}
}

// pathSite returns the site the path names, or replies not_found and returns false.
func (s *Server) pathSite(w http.ResponseWriter, r *http.Request) (*joule.Site, bool) {
	site, err := s.Sites.Site(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, r, s.Logger, err)
		return nil, false
	}
	return site, true
}

func (s *Server) handleSite(w http.ResponseWriter, r *http.Request) {
	site, ok := s.pathSite(w, r)
	if !ok {
		return
	}
	d, err := s.siteDetail(r, site)
	s.reply(w, r, http.StatusOK, d, err)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	models, err := s.Models.AllModels(r.Context())
	s.reply(w, r, http.StatusOK, map[string]any{"models": models}, err)
}

func (s *Server) handleEcon(w http.ResponseWriter, r *http.Request) {
	q, err := parseDayQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	rep, err := s.Pricer.Day(r.Context(), q)
	s.reply(w, r, http.StatusOK, rep, err)
}

func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	q, err := parseCompareQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	rep, err := s.Pricer.Compare(r.Context(), q)
	s.reply(w, r, http.StatusOK, rep, err)
}

// handleApply parses a YAML manifest from the body (?filename= names it in errors)
// and applies it in one transaction.
func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "manifest.yaml"
	}
	body, err := io.ReadAll(r.Body) // the guard limits it to MaxManifestBytes
	if err != nil {
		writeError(w, r, s.Logger, bodyError(r, filename+": cannot read the manifest", err))
		return
	}
	models, err := s.Models.AllModels(r.Context())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	byID := joule.ModelsByID(models)
	m, err := manifest.Parse(filename, body, func(id string) (*joule.HardwareModel, bool) {
		model, ok := byID[id]
		return model, ok
	})
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	for _, model := range m.Models {
		if existing, ok := byID[model.ID]; ok && existing.Builtin {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "%s: model %q is in the built-in catalog; give your model another id", filename, model.ID))
			return
		}
	}
	changes, err := s.Manifests.Apply(r.Context(), m)
	if err == nil {
		s.auditApply(r, filename, changes)
		err = s.applyTags(r.Context(), m)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"changes": changes}, err)
}

// auditApply records an applied manifest in the audit log, one row per site it
// changed (and one in the exchange's log, site "", for its models), naming the
// principal. The manifest is applied by then: a row that cannot be written is logged
// as an error, and the reply still says what changed.
func (s *Server) auditApply(r *http.Request, filename string, changes []joule.Change) {
	if s.Live == nil {
		return
	}
	var sites []string
	details := map[string][]string{}
	for _, c := range changes {
		if c.Action == joule.Unchanged {
			continue
		}
		site, name := "", c.Name
		switch c.Kind {
		case "site":
			site = c.Name
		case "fleet":
			site, name, _ = strings.Cut(c.Name, "/")
		}
		if _, seen := details[site]; !seen {
			sites = append(sites, site)
		}
		details[site] = append(details[site], fmt.Sprintf("%s %s %s", c.Kind, name, c.Action))
	}
	events := make([]*joule.Audit, 0, len(sites))
	for _, site := range sites {
		events = append(events, &joule.Audit{Site: site, At: s.now(), Kind: joule.AuditChange, Outcome: joule.OutcomeOK,
			Reason: "manifest applied", Actor: actor(r), Detail: filename + ": " + strings.Join(details[site], ", ")})
	}
	// A client that goes away does not take the record of its change with it.
	if err := s.Live.AppendAudit(context.WithoutCancel(r.Context()), events...); err != nil {
		s.Logger.Error("the applied manifest is not in the audit log", "file", filename, "actor", actor(r), "err", err)
	}
}
