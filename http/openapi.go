package http

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3 document of every route, written by hand next to the
// handlers; a test checks that each registered route has its entry.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}
