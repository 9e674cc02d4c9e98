package audit

import (
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/value"
)

// safeContext lists, by the event's source, the context keys a telemetry
// row keeps. Nothing else survives anonymisation.
var safeContext = map[string]map[string]bool{
	db.SourceBackend: set("version", "initiator", "client-version", "client-user-agent"),
	db.SourceFrontend: set("version", "locale", "browser", "browser-version", "os", "os-version",
		"screen-width", "screen-height", "screen-color-depth", "screen-orientation", "event-origin"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Anonymise returns the telemetry form of e (SPEC section 4): source
// telemetry, ip 0.0.0.0, props empty, both times at the start of their UTC
// day, context reduced to the safe keys of e's source with scalar values
// only, profile id kept. e is not changed.
func Anonymise(e Event) Event {
	return Event{
		Name:      e.Name,
		Type:      e.Type,
		Source:    db.SourceTelemetry,
		ProfileID: e.ProfileID,
		IPAddr:    ZeroIP,
		Props:     &value.Map{},
		Context:   safeContextOf(e.Source, e.Context),
		TrackedAt: Day(e.TrackedAt),
		CreatedAt: Day(e.CreatedAt),
	}
}

// Day truncates t to the start of its UTC day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func safeContextOf(source string, ctx *value.Map) *value.Map {
	out := &value.Map{}
	allowed := safeContext[source]
	if ctx == nil || len(allowed) == 0 {
		return out
	}
	for _, e := range ctx.Entries {
		k, ok := e.Key.(value.Keyword)
		if !ok || k.NS != "" || !allowed[k.Name] || !isScalar(e.Val) {
			continue
		}
		if out.Entries == nil {
			// One allocation: at most every allowed key survives.
			out.Entries = make([]value.Entry, 0, min(len(allowed), len(ctx.Entries)))
		}
		out.Entries = append(out.Entries, e) // e.Key is k, already boxed
	}
	return out
}

// isScalar reports whether v is a single, non-collection value.
func isScalar(v value.Value) bool {
	switch v.(type) {
	case bool, int64, float64, string, value.Char, value.Keyword, value.Symbol, uuid.UUID, value.Instant:
		return true
	}
	return false
}
