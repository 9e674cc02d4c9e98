// Package audit turns accepted events into audit_log rows: full rows when
// the audit-log flag is on, anonymous telemetry rows when the telemetry
// flag is on, both in one transaction when both are. It holds the event
// model, the validation rules, the anonymiser and the backend props
// cleaner, and the Logger that stores events for the HTTP routes and for
// Go code that embeds tally (Submit).
package audit

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// Event types.
const (
	TypeAction   = "action"
	TypeIdentify = "identify"
	TypeTrigger  = "trigger"
)

// MaxNameLen is the longest event name accepted, in characters.
const MaxNameLen = 250

// ZeroIP is the address stored when there is none, and on telemetry rows.
const ZeroIP = "0.0.0.0"

// Event is one usage event as accepted from a client or from backend code,
// before it becomes rows.
type Event struct {
	Name      string
	Type      string
	Source    string    // db.SourceFrontend or db.SourceBackend
	ProfileID uuid.UUID // uuid.Nil when anonymous
	IPAddr    string
	Props     *value.Map
	Context   *value.Map
	TrackedAt time.Time // when the client says it happened
	CreatedAt time.Time // when the server took it
}

// ValidateName checks an event name: non-empty, at most MaxNameLen
// characters, no whitespace or control characters.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("name is empty")
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return fmt.Errorf("name is %d characters long, at most %d allowed", n, MaxNameLen)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return fmt.Errorf("name contains whitespace or a control character at byte %d", i)
	}
	return nil
}

// ValidateType checks an event type: action, identify or trigger.
func ValidateType(t string) error {
	switch t {
	case TypeAction, TypeIdentify, TypeTrigger:
		return nil
	}
	return fmt.Errorf("type %q is not one of action, identify, trigger", t)
}

// MaxClockSkew is how far behind the server's time a client timestamp may
// be before it is replaced.
const MaxClockSkew = time.Hour

// AdjustTimestamp applies Penpot's rule to a client timestamp: when it is
// in the future or more than MaxClockSkew behind created, the event is
// tracked at created and the original goes to the context key
// original-tracked-at. It changes e in place.
func AdjustTimestamp(e *Event) {
	if !e.TrackedAt.After(e.CreatedAt) && e.CreatedAt.Sub(e.TrackedAt) <= MaxClockSkew {
		return
	}
	if e.Context == nil {
		e.Context = &value.Map{}
	}
	e.Context.Set(value.K("original-tracked-at"), value.InstantOf(e.TrackedAt))
	e.TrackedAt = e.CreatedAt
}
