package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes lists every route the server answers.
func (s *Server) routes() {
	e := s.echo
	e.Use(s.observe)
	// A panic in a handler becomes an internal error answered in Penpot's
	// shape (and logged), not a dropped connection.
	e.Use(s.recoverPanic)
	for _, prefix := range []string{"/api/main/methods/", "/api/rpc/command/"} {
		e.POST(prefix+"push-audit-events", s.handlePushAuditEvents)
		e.GET(prefix+"get-enabled-flags", s.handleGetEnabledFlags)
		e.POST(prefix+"get-enabled-flags", s.handleGetEnabledFlags)
	}
	e.POST("/api/management/methods/push-backend-events", s.handlePushBackendEvents)
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	if s.metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()))
	}
	if s.deps.Collect != nil {
		// The embedded collector is the local end of the offline
		// pipeline: it answers loopback peers only, whatever the auth
		// mode and listen address.
		h := loopbackOnly(http.StripPrefix("/collect", s.deps.Collect))
		e.Any("/collect", echo.WrapHandler(h))
		e.Any("/collect/*", echo.WrapHandler(h))
	}
}

// loopbackOnly refuses requests whose TCP peer is not a loopback address.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !peerAddr(r).IsLoopback() {
			http.Error(w, "forbidden: the embedded collector answers loopback peers only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
