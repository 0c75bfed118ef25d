package http

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

// MaxDataImportBytes is the most an import's body may have: a JSON string holding the
// CSV. A year of five-minute prices is about 4 MB of CSV; this takes several years'.
// At the server's ReadTimeout it needs a client that sends about 5 Mbit/s.
const MaxDataImportBytes = 32 << 20

// DataImport is the body of POST /api/v1/data: one series' CSV, as joule data import
// sends it (history.ParseImport says its shapes).
type DataImport struct {
	Kind   joule.DataKind `json:"kind"`
	Name   string         `json:"name,omitempty"` // the node, for energy kinds
	Source string         `json:"source"`
	CSV    string         `json:"csv"`
}

// dataRoutes registers the imported market series: the operator imports and deletes,
// viewers read.
func (s *Server) dataRoutes() {
	viewer := joule.RoleViewer
	s.handle("POST /api/v1/data", admits().limit(MaxDataImportBytes), s.handleImportData)
	s.handle("GET /api/v1/data", admits(viewer), s.handleDataList)
	s.handle("GET /api/v1/data/{kind}/{name}", admits(viewer), s.handleDataSeries)
	s.handle("DELETE /api/v1/data/{kind}/{name}", admits(), s.handleDeleteData)
}

// data returns the server's store of imported series, or replies not_found.
func (s *Server) data(w http.ResponseWriter, r *http.Request) (joule.DataService, bool) {
	if s.Data == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server keeps no imported market data"))
		return nil, false
	}
	return s.Data, true
}

func (s *Server) handleImportData(w http.ResponseWriter, r *http.Request) {
	store, ok := s.data(w, r)
	if !ok {
		return
	}
	var req DataImport
	if !decodeBody(w, r, s, &req) {
		return
	}
	series, err := history.ParseImport(req.Kind, req.Name, req.Source, []byte(req.CSV))
	if err == nil {
		err = store.ImportData(r.Context(), series)
	}
	if err == nil {
		s.auditData(r, "market data imported", fmt.Sprintf("%s %s: %d points, %s to %s, from %s", series.Kind, series.Name, series.Count,
			series.First.Format(time.RFC3339), series.Last.Format(time.RFC3339), series.Source))
	}
	var info *joule.DataSeriesInfo
	if series != nil {
		info = &series.DataSeriesInfo
	}
	s.reply(w, r, http.StatusCreated, info, err)
}

func (s *Server) handleDataList(w http.ResponseWriter, r *http.Request) {
	store, ok := s.data(w, r)
	if !ok {
		return
	}
	list, err := store.DataSeriesList(r.Context())
	s.reply(w, r, http.StatusOK, map[string]any{"series": list}, err)
}

// pathData is the kind and name the path names, checked.
func pathData(r *http.Request) (joule.DataKind, string, error) {
	kind := joule.DataKind(r.PathValue("kind"))
	name := r.PathValue("name")
	if err := joule.CheckDataName(kind, name); err != nil {
		return "", "", err
	}
	return kind, joule.DataName(kind, name), nil
}

func (s *Server) handleDataSeries(w http.ResponseWriter, r *http.Request) {
	store, ok := s.data(w, r)
	if !ok {
		return
	}
	kind, name, err := pathData(r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	series, err := store.DataSeries(r.Context(), kind, name)
	s.reply(w, r, http.StatusOK, series, err)
}

func (s *Server) handleDeleteData(w http.ResponseWriter, r *http.Request) {
	store, ok := s.data(w, r)
	if !ok {
		return
	}
	kind, name, err := pathData(r)
	if err == nil {
		err = store.DeleteData(r.Context(), kind, name)
	}
	if err == nil {
		s.auditData(r, "market data deleted", fmt.Sprintf("%s %s", kind, name))
	}
	s.reply(w, r, http.StatusOK, map[string]string{"kind": string(kind), "name": name}, err)
}

// auditData records an import or a deletion in the exchange's own log (site ""),
// naming the principal. The change is made by then: a row that cannot be written is
// logged as an error.
func (s *Server) auditData(r *http.Request, reason, detail string) {
	if s.Live == nil {
		return
	}
	ev := &joule.Audit{At: s.now(), Kind: joule.AuditChange, Outcome: joule.OutcomeOK, Reason: reason, Actor: actor(r), Detail: detail}
	if err := s.Live.AppendAudit(context.WithoutCancel(r.Context()), ev); err != nil {
		s.Logger.Error("the market data change is not in the audit log", "detail", detail, "actor", actor(r), "err", err)
	}
}
