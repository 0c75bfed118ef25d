package http

import "time"

// SetWriteTimeout sets s's WriteTimeout before Open, so that a test can outlast it in
// a moment.
func SetWriteTimeout(s *Server, d time.Duration) { s.server.WriteTimeout = d }
