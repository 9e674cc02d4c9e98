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
		h := http.StripPrefix("/collect", s.deps.Collect)
		e.Any("/collect", echo.WrapHandler(h))
		e.Any("/collect/*", echo.WrapHandler(h))
	}
}
