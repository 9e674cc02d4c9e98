// Package loadtest is the machinery behind `tally bench`: realistic
// frontend event bodies as Penpot's frontend sends them, the rows ingest
// makes of them, the storage yardsticks (the same work done straight in
// SQLite with no encoding and no HTTP), and reading a child process's
// resident memory. Everything here is deterministic, bounded and local.
package loadtest

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/audit"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// EventsPerBody is how many events a frontend request carries in the
// bench (Penpot's frontend batches its events).
const EventsPerBody = 100

var (
	eventNames = []string{"navigate", "open-file", "create-file", "update-file", "select-tool",
		"create-shape", "rename-page", "export-shapes", "show-comments", "toggle-layers"}
	routes   = []string{"dashboard-projects", "workspace", "dashboard-fonts", "settings-profile", "viewer"}
	tools    = []string{"rect", "ellipse", "text", "path", "frame", "curve"}
	locales  = []string{"en", "es", "fr", "de", "pt-BR", "zh-CN"}
	browsers = []string{"chrome", "firefox", "safari", "edge"}
	oses     = []string{"linux", "macos", "windows"}
	origins  = []string{"workspace", "dashboard", "viewer", "menu", "shortcut"}
)

// id makes a deterministic uuid from two numbers.
func id(kind, n int) uuid.UUID {
	u, _ := uuid.Parse(fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n*2654435761%(1<<32), kind, n%4096, kind%4096, n*7919))
	return u
}

// FrontendEvent returns event i as Penpot's frontend sends it in a
// push-audit-events body: name, type, props (ids of the team, project and
// file, a route, numbers and flags), timestamp, the profile-id the server
// ignores, and a context of browser and screen facts (some of which
// anonymisation drops).
func FrontendEvent(i int, at time.Time) *value.Map {
	name := eventNames[i%len(eventNames)]
	typ := audit.TypeAction
	if i%50 == 7 {
		typ = audit.TypeIdentify
	}
	props := value.NewMap(8)
	props.Append(value.K("team-id"), id(1, i%13))
	props.Append(value.K("project-id"), id(2, i%29))
	props.Append(value.K("file-id"), id(3, i%97))
	props.Append(value.K("route"), routes[i%len(routes)])
	switch name {
	case "select-tool", "create-shape":
		props.Append(value.K("tool"), value.K(tools[i%len(tools)]))
		props.Append(value.K("shape-count"), int64(i%200))
	case "export-shapes":
		props.Append(value.K("type"), "png")
		props.Append(value.K("scale"), 2.0)
		props.Append(value.K("num-shapes"), int64(1+i%9))
	default:
		props.Append(value.K("page-id"), id(4, i%211))
		props.Append(value.K("shared"), i%3 == 0)
	}
	ctx := value.NewMap(14)
	ctx.Append(value.K("version"), "2.4.3")
	ctx.Append(value.K("locale"), locales[i%len(locales)])
	ctx.Append(value.K("browser"), browsers[i%len(browsers)])
	ctx.Append(value.K("browser-version"), fmt.Sprintf("%d.0", 120+i%8))
	ctx.Append(value.K("engine"), "blink")
	ctx.Append(value.K("os"), oses[i%len(oses)])
	ctx.Append(value.K("os-version"), "10")
	ctx.Append(value.K("device-type"), "desktop")
	ctx.Append(value.K("screen-width"), int64(1280+640*(i%2)))
	ctx.Append(value.K("screen-height"), int64(1080))
	ctx.Append(value.K("screen-color-depth"), int64(24))
	ctx.Append(value.K("screen-orientation"), "landscape-primary")
	ctx.Append(value.K("event-origin"), origins[i%len(origins)])
	ctx.Append(value.K("session"), id(5, i/500).String())

	m := value.NewMap(6)
	m.Append(value.K("name"), name)
	m.Append(value.K("type"), typ)
	m.Append(value.K("props"), props)
	m.Append(value.K("context"), ctx)
	m.Append(value.K("profile-id"), id(6, i%41))
	m.Append(value.K("timestamp"), value.InstantOf(at.Add(-time.Duration(i%600)*time.Second)))
	return m
}

// Body returns the transit JSON body (with transit-js's write cache, as
// the frontend sends it) of n events starting with event first.
func Body(first, n int, at time.Time) ([]byte, error) {
	events := make(value.Vector, n)
	for i := range events {
		events[i] = FrontendEvent(first+i, at)
	}
	body := value.NewMap(1)
	body.Append(value.K("events"), events)
	return transit.Encode(body)
}

// Event returns event i as the server hands it to audit.Logger.Record
// after validation: a frontend event of an anonymous caller, taken at at.
func Event(i int, at time.Time) audit.Event {
	m := FrontendEvent(i, at)
	get := func(k string) value.Value { v, _ := m.GetKW(k); return v }
	return audit.Event{
		Name: get("name").(string), Type: get("type").(string), Source: db.SourceFrontend,
		IPAddr: "127.0.0.1", Props: get("props").(*value.Map), Context: get("context").(*value.Map),
		TrackedAt: get("timestamp").(value.Instant).Time(), CreatedAt: at.UTC(),
	}
}

// TelemetryRow returns the row ingest stores for event i when only
// telemetry is on: the anonymised event, with a fresh id.
func TelemetryRow(i int, at time.Time) (db.Row, error) {
	t := audit.Anonymise(Event(i, at))
	ctx := "{}"
	if t.Context.Len() > 0 {
		b, err := transit.EncodeVerbose(t.Context)
		if err != nil {
			return db.Row{}, err
		}
		ctx = string(b)
	}
	return db.Row{
		ID: uuid.Must(uuid.NewV7()), Name: t.Name, Type: t.Type, Source: t.Source, ProfileID: t.ProfileID,
		IPAddr: t.IPAddr, Props: "{}", Context: ctx,
		TrackedAt: t.TrackedAt.UnixMilli(), CreatedAt: t.CreatedAt.UnixMilli(),
	}, nil
}

// PageRows returns the JVM reference harness's page of n events
// (fresstest.Page, the page `run.sh bench` encodes) as stored telemetry
// rows, context as transit JSON-verbose text: the input of the ship
// path's encoder.
func PageRows(n int) ([]db.Row, error) {
	page := fresstest.Page(n)
	rows := make([]db.Row, len(page))
	for i, ev := range page {
		m := ev.(*value.Map)
		get := func(k string) value.Value { v, _ := m.GetKW(k); return v }
		ctx, err := transit.EncodeVerbose(get("context"))
		if err != nil {
			return nil, err
		}
		at := int64(get("tracked-at").(value.Instant))
		rows[i] = db.Row{Seq: int64(i + 1), ID: uuid.Must(uuid.NewV7()), Name: get("name").(string),
			Type: get("type").(string), Source: get("source").(string), ProfileID: get("profile-id").(uuid.UUID),
			IPAddr: audit.ZeroIP, Props: "{}", Context: string(ctx), TrackedAt: at, CreatedAt: at}
	}
	return rows, nil
}
