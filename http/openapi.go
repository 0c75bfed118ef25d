package http

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPI is the OpenAPI 3 document of every route, written by hand next to the
// handlers; a test checks that each registered route has its entry.
//
//go:embed openapi.json
var openAPI []byte

// handleOpenAPI serves the document with its servers set to the address the request
// reached, over the scheme it came by, so that a client generated from it calls this
// server and not the document's example address.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		writeError(w, r, s.Logger, err) // the embedded document is checked by its tests
		return
	}
	servers, err := json.Marshal([]map[string]string{{"url": scheme + "://" + r.Host, "description": "this server"}})
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	doc["servers"] = servers
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}
