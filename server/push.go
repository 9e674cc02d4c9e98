package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tally/db"
	"tally/telemetry/audit"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// handlePushAuditEvents takes a batch of frontend events (Penpot's
// push-audit-events): the whole request is validated first, then stored
// in one transaction; one bad event rejects all of it.
func (s *Server) handlePushAuditEvents(c echo.Context) error {
	who, err := s.identify(c)
	if err != nil {
		return err
	}
	if s.limiter != nil && !s.limiter.allow(who.rateKey()) {
		return errorf("too-many-requests", "more than %g requests a second", s.cfg.Rate)
	}
	maps, err := s.readEvents(c)
	if err != nil {
		return err
	}
	now := s.deps.Now().UTC()
	events := make([]audit.Event, len(maps))
	for i, m := range maps {
		e, err := frontendEvent(m, i)
		if err != nil {
			return err
		}
		e.Source = db.SourceFrontend
		e.ProfileID = who.profile
		e.IPAddr = who.ip
		e.CreatedAt = now
		audit.AdjustTimestamp(&e)
		events[i] = e
	}
	return s.record(c, events)
}

// frontendEvent reads one event map: name, type, props, timestamp and an
// optional context. Other keys (Penpot's frontend sends profile-id) are
// ignored.
func frontendEvent(m *value.Map, i int) (audit.Event, error) {
	var e audit.Event
	var err error
	if e.Name, e.Type, err = nameAndType(m, i); err != nil {
		return e, err
	}
	if e.Props, err = mapField(m, i, "props", true); err != nil {
		return e, err
	}
	if e.Context, err = mapField(m, i, "context", false); err != nil {
		return e, err
	}
	if e.TrackedAt, _, err = instantField(m, i, "timestamp", true); err != nil {
		return e, err
	}
	return e, nil
}

// handleGetEnabledFlags answers which of audit-log and telemetry are on:
// a transit set, or a JSON array.
func (s *Server) handleGetEnabledFlags(c echo.Context) error {
	var on []string
	if s.deps.Flags.AuditLog {
		on = append(on, "audit-log")
	}
	if s.deps.Flags.Telemetry {
		on = append(on, "telemetry")
	}
	if wantsTransit(c.Request()) {
		set := make(value.Set, len(on))
		for i, f := range on {
			set[i] = value.K(f)
		}
		b, err := transit.Encode(set)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, mimeTransit, b)
	}
	if on == nil {
		on = []string{}
	}
	return c.JSON(http.StatusOK, on)
}
