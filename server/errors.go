package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// Error is an error with Penpot's shape: a type, a code and a hint. The
// code decides the HTTP status (see statusOf).
type Error struct {
	Type string // validation, restriction, authentication, authorization, not-found, internal
	Code string // params-validation, malformed-body, …
	Hint string
}

func (e *Error) Error() string { return e.Code + ": " + e.Hint }

// Penpot's error codes used by tally, with their type and HTTP status.
var codes = map[string]struct {
	typ    string
	status int
}{
	"params-validation":       {"validation", http.StatusBadRequest},
	"malformed-body":          {"validation", http.StatusBadRequest},
	"request-body-too-large":  {"validation", http.StatusRequestEntityTooLarge},
	"unsupported-media-type":  {"validation", http.StatusUnsupportedMediaType},
	"too-many-requests":       {"restriction", http.StatusTooManyRequests},
	"authentication-required": {"authentication", http.StatusUnauthorized},
	"invalid-token":           {"authentication", http.StatusUnauthorized},
	"forbidden":               {"authorization", http.StatusForbidden},
	"object-not-found":        {"not-found", http.StatusNotFound},
	"method-not-allowed":      {"validation", http.StatusMethodNotAllowed},
	"internal":                {"internal", http.StatusInternalServerError},
}

// errorf makes an Error with the given code and a formatted hint.
func errorf(code, format string, args ...any) *Error {
	return &Error{Type: codes[code].typ, Code: code, Hint: fmt.Sprintf(format, args...)}
}

// statusOf returns the HTTP status of an error code.
func statusOf(code string) int {
	if c, ok := codes[code]; ok {
		return c.status
	}
	return http.StatusInternalServerError
}

// handleError is Echo's HTTPErrorHandler: every error leaves in Penpot's
// shape, in the format the client asked for. Internal errors are logged
// and shown without details.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var e *Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &he):
		e = fromEchoError(he)
	default:
		s.log.Error("internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		e = &Error{Type: "internal", Code: "internal", Hint: "internal error"}
	}
	if e.Code == "internal" {
		e.Hint = "internal error"
	}
	if strings.Contains(c.Path(), "/push-") {
		s.metrics.Rejected(e.Code) // events refused, not scanners' 404s
	}
	status := statusOf(e.Code)
	if e.Code == "too-many-requests" {
		c.Response().Header().Set("Retry-After", "1")
	}
	if err := s.writeError(c, status, e); err != nil {
		s.log.Warn("writing error response", "err", err)
	}
}

func fromEchoError(he *echo.HTTPError) *Error {
	switch he.Code {
	case http.StatusNotFound:
		return errorf("object-not-found", "no such route")
	case http.StatusMethodNotAllowed:
		return errorf("method-not-allowed", "method not allowed")
	case http.StatusRequestEntityTooLarge:
		return errorf("request-body-too-large", "request body too large")
	case http.StatusUnsupportedMediaType:
		return errorf("unsupported-media-type", "unsupported media type")
	}
	if he.Code < 500 {
		return &Error{Type: "validation", Code: "params-validation", Hint: fmt.Sprint(he.Message)}
	}
	return &Error{Type: "internal", Code: "internal"}
}

// wantsTransit reports whether the response should be transit: the Accept
// header decides, else the request's content type.
func wantsTransit(r *http.Request) bool {
	if a := r.Header.Get("Accept"); a != "" && a != "*/*" {
		if strings.Contains(a, mimeTransit) {
			return true
		}
		if strings.Contains(a, mimeJSON) {
			return false
		}
	}
	return strings.HasPrefix(r.Header.Get("Content-Type"), mimeTransit)
}

func (s *Server) writeError(c echo.Context, status int, e *Error) error {
	if wantsTransit(c.Request()) {
		m := &value.Map{}
		m.Append(value.K("type"), value.K(e.Type))
		m.Append(value.K("code"), value.K(e.Code))
		m.Append(value.K("hint"), e.Hint)
		b, err := transit.Encode(m)
		if err != nil {
			return err
		}
		return c.Blob(status, mimeTransit, b)
	}
	return c.JSON(status, map[string]string{"type": e.Type, "code": e.Code, "hint": e.Hint})
}
