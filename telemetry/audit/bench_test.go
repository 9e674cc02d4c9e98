package audit_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"tally/db"
	"tally/telemetry/audit"
	"tally/telemetry/loadtest"
)

// One realistic frontend event (ids in props, a browser and screen
// context with keys anonymisation drops) made anonymous.
func BenchmarkAnonymise(b *testing.B) {
	e := loadtest.Event(1, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		audit.Anonymise(e)
	}
}

// A request of 100 events stored through Logger.Record into a real
// database file: anonymise, transit-encode, and the group-commit insert.
func BenchmarkRecord100(b *testing.B) {
	for _, tc := range []struct {
		name  string
		flags audit.Flags
	}{
		{"telemetry", audit.Flags{Telemetry: true}},
		{"audit-log+telemetry", audit.Flags{AuditLog: true, Telemetry: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tally.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			l := &audit.Logger{Store: d, Flags: tc.flags}
			now := time.Now()
			events := make([]audit.Event, loadtest.EventsPerBody)
			for i := range events {
				events[i] = loadtest.Event(i, now)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Record(ctx, events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
