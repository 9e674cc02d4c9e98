package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/value"
)

func openDB(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "tally.db"))
	if err != nil {
		t.Fatalf("db.Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func listRows(t *testing.T, d *db.DB) []db.Row {
	t.Helper()
	var out []db.Row
	if err := d.List(context.Background(), db.ListOptions{}, func(r db.Row) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	return out
}

// TestSubmitDefaults: Submit against a real database fills what the
// event leaves out (SPEC 3.2) and keeps what it gives.
func TestSubmitDefaults(t *testing.T) {
	// The clock is in another zone: stored times are UTC epoch ms anyway.
	now := time.Date(2026, 7, 8, 9, 10, 11, 123e6, time.FixedZone("X", 5*3600))
	earlier := now.Add(-48 * time.Hour) // kept: a backend knows when its events happened
	profile := uuid.MustParse("6a1f9d4c-0b2e-4c7a-8e5d-3f2a1b0c9d8e")
	nowMs := now.UnixMilli()
	tests := []struct {
		name string
		in   Event
		want db.Row
	}{
		{"all defaults", Event{Name: "tick", Type: TypeTrigger},
			db.Row{Name: "tick", Type: "trigger", Source: "backend", ProfileID: uuid.Nil, IPAddr: "0.0.0.0",
				Props: "{}", Context: "{}", TrackedAt: nowMs, CreatedAt: nowMs}},
		{"given values kept", Event{Name: "login", Type: TypeIdentify, Source: db.SourceFrontend,
			ProfileID: profile, IPAddr: "198.51.100.4", TrackedAt: earlier,
			Props: kmap(value.K("n"), int64(2)), Context: kmap(value.K("team-id"), profile)},
			db.Row{Name: "login", Type: "identify", Source: "frontend", ProfileID: profile, IPAddr: "198.51.100.4",
				Props: `{"~:n":2}`, Context: `{"~:team-id":"~u` + profile.String() + `"}`,
				TrackedAt: earlier.UnixMilli(), CreatedAt: nowMs}},
		{"created_at is always now", Event{Name: "x", Type: TypeAction, CreatedAt: earlier},
			db.Row{Name: "x", Type: "action", Source: "backend", ProfileID: uuid.Nil, IPAddr: "0.0.0.0",
				Props: "{}", Context: "{}", TrackedAt: nowMs, CreatedAt: nowMs}},
		{"props cleaned", Event{Name: "change-password", Type: TypeAction, Props: kmap(
			value.K("password"), "a", value.K("old-password"), "b", value.K("token"), "c",
			value.K("session-id"), "d", value.K("client-secret"), "e",
			value.Keyword{NS: "app.main", Name: "id"}, "f", "password", "g", "ns/key", "h",
			value.K("gone"), nil, value.K("kept"), "yes", "also-kept", int64(1))},
			db.Row{Name: "change-password", Type: "action", Source: "backend", ProfileID: uuid.Nil, IPAddr: "0.0.0.0",
				Props: `{"~:kept":"yes","also-kept":1}`, Context: "{}", TrackedAt: nowMs, CreatedAt: nowMs}},
		{"props all secrets", Event{Name: "x", Type: TypeAction, Props: kmap(value.K("token"), "t")},
			db.Row{Name: "x", Type: "action", Source: "backend", ProfileID: uuid.Nil, IPAddr: "0.0.0.0",
				Props: "{}", Context: "{}", TrackedAt: nowMs, CreatedAt: nowMs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openDB(t)
			l := &Logger{Store: d, Flags: Flags{AuditLog: true}, Now: func() time.Time { return now }}
			before := tt.in.Props.Len()
			if err := l.Submit(context.Background(), tt.in); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if got := tt.in.Props.Len(); got != before {
				t.Errorf("Submit changed the caller's props: %d entries, was %d", got, before)
			}
			rows := listRows(t, d)
			if len(rows) != 1 {
				t.Fatalf("%d rows stored, want 1", len(rows))
			}
			got := rows[0]
			if got.ID.Version() != 7 {
				t.Errorf("id %s is not a v7 uuid", got.ID)
			}
			if got.ArchivedAt.Valid {
				t.Errorf("archived_at set on a new row")
			}
			got.Seq, got.ID, got.ArchivedAt = 0, uuid.Nil, tt.want.ArchivedAt
			if got != tt.want {
				t.Errorf("stored\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestSubmitFlags: what Submit stores follows the flags; with both off it
// stores nothing and still succeeds.
func TestSubmitFlags(t *testing.T) {
	tests := []struct {
		flags Flags
		want  string // sources stored, in order
	}{
		{Flags{}, ""},
		{Flags{AuditLog: true}, "backend"},
		{Flags{Telemetry: true}, "telemetry"},
		{Flags{AuditLog: true, Telemetry: true}, "backend telemetry"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			d := openDB(t)
			l := &Logger{Store: d, Flags: tt.flags}
			if err := l.Submit(context.Background(), Event{Name: "x", Type: TypeTrigger,
				IPAddr: "192.0.2.9", Props: kmap(value.K("p"), "v")}); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			var got string
			for _, r := range listRows(t, d) {
				if got != "" {
					got += " "
				}
				got += r.Source
				if r.Source == db.SourceTelemetry && (r.IPAddr != ZeroIP || r.Props != "{}") {
					t.Errorf("telemetry row not anonymous: %+v", r)
				}
			}
			if got != tt.want {
				t.Errorf("stored sources %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSubmitRejects: a bad event is an error and nothing is stored.
func TestSubmitRejects(t *testing.T) {
	d := openDB(t)
	l := &Logger{Store: d, Flags: Flags{AuditLog: true, Telemetry: true}}
	for _, e := range []Event{
		{Type: TypeAction},
		{Name: "has space", Type: TypeAction},
		{Name: "x", Type: "click"},
		{Name: "x", Type: TypeAction, Source: db.SourceTelemetry},
		{Name: "x", Type: TypeAction, Props: kmap(value.K("bad"), struct{}{})},
	} {
		if err := l.Submit(context.Background(), e); err == nil {
			t.Errorf("Submit(%+v) = nil, want an error", e)
		}
	}
	if rows := listRows(t, d); len(rows) != 0 {
		t.Errorf("%d rows stored, want none", len(rows))
	}
}
