package server

import (
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"tally/db"
	"tally/telemetry/audit"
	"tally/telemetry/value"
)

// checkSharedKey authenticates the management route. The x-shared-key
// header is Penpot's "<key-id> <key>" or a bare "<key>"; it returns the
// key id ("" for a bare key).
func (s *Server) checkSharedKey(c echo.Context) (string, error) {
	h := strings.TrimSpace(c.Request().Header.Get("X-Shared-Key"))
	if h == "" {
		return "", errorf("forbidden", "missing x-shared-key header")
	}
	// The whole header first: a bare key may itself hold a space.
	if subtle.ConstantTimeCompare([]byte(h), []byte(s.cfg.SharedKey)) == 1 {
		return "", nil
	}
	id, key, ok := strings.Cut(h, " ")
	if !ok {
		id, key = "", h
	}
	key = strings.TrimSpace(key)
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.SharedKey)) != 1 {
		return "", errorf("forbidden", "wrong shared key")
	}
	return id, nil
}

// handlePushBackendEvents takes events from a trusted backend in another
// process. The body's profile-id and ip-addr are trusted; the request adds
// context of its own (derivedContext). 404 when no shared key is set.
func (s *Server) handlePushBackendEvents(c echo.Context) error {
	if s.cfg.SharedKey == "" {
		return errorf("object-not-found", "no such route")
	}
	keyID, err := s.checkSharedKey(c)
	if err != nil {
		return err
	}
	maps, err := s.readEvents(c)
	if err != nil {
		return err
	}
	derived := s.derivedContext(c.Request(), keyID)
	now := s.deps.Now().UTC()
	events := make([]audit.Event, len(maps))
	for i, m := range maps {
		e, err := backendEvent(m, i)
		if err != nil {
			return err
		}
		e.CreatedAt = now
		if e.TrackedAt.IsZero() {
			e.TrackedAt = now
		}
		for _, d := range derived.Entries {
			e.Context.Set(d.Key, d.Val)
		}
		events[i] = e
	}
	return s.record(c, events)
}

// backendEvent reads one backend event map: name, type, and the optional
// profile-id, props, context, tracked-at and ip-addr.
func backendEvent(m *value.Map, i int) (audit.Event, error) {
	e := audit.Event{Source: db.SourceBackend, IPAddr: audit.ZeroIP}
	var err error
	if e.Name, e.Type, err = nameAndType(m, i); err != nil {
		return e, err
	}
	if v, ok := m.GetKW("profile-id"); ok && v != nil {
		switch x := v.(type) {
		case uuid.UUID:
			e.ProfileID = x
		case string:
			if e.ProfileID, err = uuid.Parse(x); err != nil || len(x) != 36 {
				return e, errorf("params-validation", "events[%d].profile-id must be a uuid", i)
			}
		default:
			return e, errorf("params-validation", "events[%d].profile-id must be a uuid", i)
		}
	}
	props, err := mapField(m, i, "props", false)
	if err != nil {
		return e, err
	}
	e.Props = audit.CleanProps(props)
	if e.Context, err = mapField(m, i, "context", false); err != nil {
		return e, err
	}
	if e.TrackedAt, _, err = instantField(m, i, "tracked-at", false); err != nil {
		return e, err
	}
	ip, has, err := stringField(m, i, "ip-addr", false)
	if err != nil {
		return e, err
	}
	if has {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return e, errorf("params-validation", "events[%d].ip-addr %q is not an IP address", i, ip)
		}
		e.IPAddr = addr.Unmap().String()
	}
	return e, nil
}

// derivedContext is the context a backend request adds to each of its
// events (SPEC 3.2); it wins over the same keys in a body's context.
func (s *Server) derivedContext(r *http.Request, keyID string) *value.Map {
	m := &value.Map{}
	add := func(key, v string, max int, dropLong bool) {
		v = strings.TrimSpace(v)
		if v == "" || v == "null" {
			return
		}
		if utf8.RuneCountInString(v) > max {
			if dropLong {
				return
			}
			v = truncate(v, max)
		}
		m.Append(value.K(key), v)
	}
	add("version", s.cfg.Version, 100, false)
	initiator := keyID
	if initiator == "" {
		initiator = "app"
	}
	add("initiator", initiator, 100, false)
	add("client-version", r.Header.Get("X-Frontend-Version"), 100, false)
	add("client-user-agent", r.Header.Get("User-Agent"), 500, false)
	add("client-event-origin", r.Header.Get("X-Event-Origin"), 200, false)
	add("external-session-id", r.Header.Get("X-External-Session-Id"), 256, true)
	return m
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
