package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sqlite"
)

// dashboardServer is a server whose store holds one site, west-texas.
func dashboardServer(t *testing.T) *Server {
	t.Helper()
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := &joule.Manifest{Sites: []*joule.Site{{Name: "west-texas", PowerCapW: 50_000_000, PUE: 1.05,
		Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}}}}
	if _, err := sqlite.NewManifestService(db).Apply(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	s := NewServer()
	s.Sites = sqlite.NewSiteService(db)
	return s
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestDashboardPages(t *testing.T) {
	s := dashboardServer(t)
	tests := []struct {
		path, script, current string
	}{
		{"/", "/static/overview.js", `href="/" aria-current="page"`},
		{"/sites/west-texas", "/static/site.js", `href="/" aria-current="page"`},
		{"/market", "/static/market.js", `href="/market" aria-current="page"`},
		{"/tenant", "/static/tenant.js", `href="/tenant" aria-current="page"`},
		{"/economics", "/static/economics.js", `href="/economics" aria-current="page"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := get(t, s, tt.path)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q", cc)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			body := w.Body.String()
			for _, want := range []string{`<script src="` + tt.script + `">`, `<script src="/static/joule.js">`, tt.current,
				`<a href="/market"`, `<a href="/tenant"`, `<a href="/economics"`, `id="clock"`, `id="token-input"`} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			if n := strings.Count(body, `aria-current="page"`); n != 1 {
				t.Errorf("%d nav links are marked current, want 1", n)
			}
		})
	}
	if body := get(t, s, "/sites/west-texas").Body.String(); !strings.Contains(body, `data-site="west-texas"`) || !strings.Contains(body, "<h1>west-texas</h1>") {
		t.Error("the site page does not name its site")
	}
}

// TestSitePageRevealsNoSites: without a token, the page of a site that exists and of
// one that does not are the same page, so that nobody learns the sites' names by
// guessing; the page's script asks the API, as the signed-in reader.
func TestSitePageRevealsNoSites(t *testing.T) {
	s := dashboardServer(t)
	known, unknown := get(t, s, "/sites/west-texas"), get(t, s, "/sites/no-such-site")
	if known.Code != http.StatusOK || unknown.Code != http.StatusOK {
		t.Fatalf("site pages: %d and %d, want 200 both", known.Code, unknown.Code)
	}
	if a, b := strings.ReplaceAll(known.Body.String(), "west-texas", "X"), strings.ReplaceAll(unknown.Body.String(), "no-such-site", "X"); a != b {
		t.Errorf("the page of a site that exists differs from one that does not:\n%s\n---\n%s", a, b)
	}
}

// TestDashboardNotFound: on a demo server, whose sites anyone sees, an unknown site is
// a 404 page; an unknown path keeps the API's JSON 404, and the page templates are not
// served as assets.
func TestDashboardNotFound(t *testing.T) {
	s := dashboardServer(t)
	s.Demo = &Demo{Speed: 1}
	w := get(t, s, "/sites/no-such-site")
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "No site named “no-such-site”") {
		t.Errorf("unknown site: %d %q", w.Code, w.Body.String())
	}
	if strings.Contains(w.Body.String(), `/static/notfound.js`) {
		t.Error("the not-found page loads a script that does not exist")
	}
	w = get(t, s, "/sites/%3Cscript%3E")
	if strings.Contains(w.Body.String(), "<script>") && !strings.Contains(w.Body.String(), "&lt;script&gt;") {
		t.Error("a site name in the URL is not escaped")
	}
	for _, path := range []string{"/no/such/page", "/api/v1/nothing"} {
		w := get(t, s, path)
		var body errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusNotFound || body.Error.Code != joule.ENOTFOUND {
			t.Errorf("%s: %d %q, want the JSON not_found", path, w.Code, w.Body.String())
		}
	}
	for _, path := range []string{"/static/pages/layout.html", "/static/nothing.js", "/static/"} {
		if w := get(t, s, path); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, w.Code)
		}
	}
	if w := get(t, s, "/static/../dashboard.go"); w.Code == http.StatusOK || strings.Contains(w.Body.String(), "package http") {
		t.Errorf("/static/../dashboard.go: status %d serves the source", w.Code)
	}
	if w := get(t, s, "/market/"); w.Code != http.StatusNotFound {
		t.Errorf("/market/: status %d, want 404", w.Code)
	}
}

func TestDashboardAssets(t *testing.T) {
	s := dashboardServer(t)
	tests := []struct{ path, ctype string }{
		{"/static/joule.css", "text/css; charset=utf-8"},
		{"/static/joule.js", "text/javascript; charset=utf-8"},
		{"/static/market.js", "text/javascript; charset=utf-8"},
		{"/static/favicon.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := get(t, s, tt.path)
			if w.Code != http.StatusOK || w.Body.Len() == 0 {
				t.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q", cc)
			}
			etag := w.Header().Get("ETag")
			if !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag %q", etag)
			}
			if w := get(t, s, tt.path, "If-None-Match", etag); w.Code != http.StatusNotModified {
				t.Errorf("revalidation with its ETag: status %d, want 304", w.Code)
			}
		})
	}
}

// TestDashboardWithoutCharts: without the vendored chart library (no `make web`),
// the pages load no chart script and carry the note that takes the charts' place.
func TestDashboardWithoutCharts(t *testing.T) {
	fsys := fstest.MapFS{}
	for name := range dashboardPages {
		data, err := staticFiles.ReadFile("static/pages/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		fsys["static/pages/"+name+".html"] = &fstest.MapFile{Data: data}
	}
	layout, err := staticFiles.ReadFile("static/pages/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	fsys["static/pages/layout.html"] = &fstest.MapFile{Data: layout}
	fsys["static/joule.js"] = &fstest.MapFile{Data: []byte("// joule")}

	for _, files := range []struct {
		name   string
		charts bool
	}{{"without", false}, {"with", true}} {
		if files.charts {
			fsys["static/"+chartLibrary] = &fstest.MapFile{Data: []byte("// chart")}
		}
		d, err := newDashboard(fsys)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		d.page("market")(w, httptest.NewRequest("GET", "/market", nil))
		body := w.Body.String()
		hasScript := strings.Contains(body, `<script src="/static/`+chartLibrary+`">`)
		hasNote := strings.Contains(body, `id="no-charts"`) && strings.Contains(body, "make web")
		if hasScript != files.charts || hasNote == files.charts {
			t.Errorf("%s the chart library: chart script %v, note %v", files.name, hasScript, hasNote)
		}
	}
}
