package http

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// staticFiles holds the dashboard: page templates under static/pages, and the assets
// served under /static/ (stylesheet, scripts, and the chart library that `make web`
// copies into static/vendor, which may be missing).
//
//go:embed static
var staticFiles embed.FS

// chartLibrary is the vendored Chart.js bundle, relative to the assets.
const chartLibrary = "vendor/chart.umd.min.js"

// dashboardCSP keeps the pages to their own scripts. Styles may be inline because the
// printable invoice, opened from the Tenant page as a blob, inherits the policy.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// dashboardPages are the pages of the dashboard: the template under static/pages, also
// the name of its script, and its title.
var dashboardPages = map[string]string{
	"overview":  "Overview",
	"site":      "Site",
	"market":    "GPU market",
	"tenant":    "Tenant",
	"owner":     "Owner",
	"economics": "Economics",
	"notfound":  "Not found",
	"dr":        "Demand response",
}

// dashboard serves the web pages and their assets from a file system laid out like
// staticFiles.
type dashboard struct {
	assets fs.FS
	pages  map[string]*template.Template
	etags  map[string]string // asset path → strong ETag of its content
	charts bool              // the chart library is there
}

// pageData is what a page template renders.
type pageData struct {
	Page   string // key of dashboardPages: the nav entry and the page's script
	Title  string
	Site   string // the site page's site
	Charts bool   // the chart library is served; without it pages show a note instead
}

// newDashboard parses the page templates of fsys and fingerprints its assets.
func newDashboard(fsys fs.FS) (*dashboard, error) {
	assets, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	d := &dashboard{assets: assets, pages: map[string]*template.Template{}, etags: map[string]string{}}
	for name := range dashboardPages {
		t, err := template.ParseFS(assets, "pages/layout.html", "pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard page %s: %w", name, err)
		}
		d.pages[name] = t
	}
	err = fs.WalkDir(assets, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(p, "pages/") {
			return err
		}
		data, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		d.etags[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	_, d.charts = d.etags[chartLibrary]
	return d, nil
}

// dashboardRoutes registers the pages. They are not API routes: they are left out of
// Routes, and so of the OpenAPI document's check.
func (s *Server) dashboardRoutes() {
	d, err := newDashboard(staticFiles)
	if err != nil {
		panic(err) // the embedded templates are part of the binary: a test parses them
	}
	s.mux.HandleFunc("GET /{$}", d.page("overview"))
	s.mux.HandleFunc("GET /market", d.page("market"))
	s.mux.HandleFunc("GET /tenant", d.page("tenant"))
	s.mux.HandleFunc("GET /owner", d.page("owner"))
	s.mux.HandleFunc("GET /economics", d.page("economics"))
	s.mux.HandleFunc("GET /sites/{name}", s.handleSitePage(d))
	s.mux.HandleFunc("GET /sites/{name}/dr/{id}", d.drPage)
	s.mux.HandleFunc("GET /static/{path...}", d.serveAsset)
}

// page returns a handler that renders the named page.
func (d *dashboard) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.render(w, http.StatusOK, pageData{Page: name, Title: dashboardPages[name]})
	}
}

// handleSitePage renders a site's page, or a page saying there is no such site. A
// page load carries no token, so only a demo server, whose sites anyone may see, says
// here which sites exist; elsewhere every name gets the site's page, and its script
// learns from the API, as the signed-in reader, whether the site exists.
func (s *Server) handleSitePage(d *dashboard) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if s.Demo == nil {
			d.render(w, http.StatusOK, pageData{Page: "site", Title: name, Site: name})
			return
		}
		_, err := s.Sites.Site(r.Context(), name)
		switch {
		case joule.ErrorCode(err) == joule.ENOTFOUND:
			d.render(w, http.StatusNotFound, pageData{Page: "notfound", Title: dashboardPages["notfound"], Site: name})
		case err != nil:
			writeError(w, r, s.Logger, err)
		default:
			d.render(w, http.StatusOK, pageData{Page: "site", Title: name, Site: name})
		}
	}
}

func (d *dashboard) render(w http.ResponseWriter, status int, data pageData) {
	data.Charts = d.charts
	var buf bytes.Buffer
	if err := d.pages[data.Page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		// The templates are fixed and their data is ours: a failure is a bug a test catches.
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// assetTypes are the content types of the assets, set here rather than read from the
// system's MIME tables, which differ from machine to machine.
var assetTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
	".map": "application/json",
}

// serveAsset serves a file under /static/. Assets are not fingerprinted in their
// names, so browsers revalidate them every time against their ETag (a 304 is cheap).
func (d *dashboard) serveAsset(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	etag, ok := d.etags[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(d.assets, p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype, ok := assetTypes[path.Ext(p)]
	if !ok {
		ctype = mime.TypeByExtension(path.Ext(p))
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(data))
}
