package http

import (
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"sync"
)

// openAPI is the OpenAPI 3 document of every route, written by hand next to the
// handlers; a test checks that each registered route has its entry.
//
//go:embed openapi.json
var openAPI []byte

// openAPIDoc is the document parsed once, for handleOpenAPI to set its servers in.
var openAPIDoc = sync.OnceValues(func() (map[string]json.RawMessage, error) {
	var doc map[string]json.RawMessage
	err := json.Unmarshal(openAPI, &doc)
	return doc, err
})

// handleOpenAPI serves the document with its servers set to the address the request
// reached, over the scheme it came by, so that a client generated from it calls this
// server and not the document's example address.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	doc, err := openAPIDoc()
	if err != nil {
		writeError(w, r, s.Logger, err) // the embedded document is checked by its tests
		return
	}
	servers, err := json.Marshal([]map[string]string{{"url": scheme + "://" + r.Host, "description": "this server"}})
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	served := maps.Clone(doc)
	served["servers"] = servers
	writeJSON(w, http.StatusOK, served)
}
