package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// Store is where a Logger puts rows; *db.DB implements it. Insert must
// store all rows in one transaction, or none.
type Store interface {
	Insert(ctx context.Context, rows []db.Row) error
}

// Logger stores accepted events according to the flags (SPEC section 1).
type Logger struct {
	Store Store
	Flags Flags
	// Now is the clock; nil means time.Now. Tests replace it.
	Now func() time.Time
	// OnStored, when set, is told how many rows of each source a Record
	// call stored (metrics hook).
	OnStored func(source string, n int)
	// OnAccepted, when set, is told how many events a Record call
	// accepted, whatever the flags made of them (metrics hook).
	OnAccepted func(n int)
}

// Record stores events, already validated, as rows per the flags: full
// rows when audit-log is on, anonymous rows when telemetry is on, all in
// one transaction. With both flags off nothing is stored. Events must have
// Source, CreatedAt and TrackedAt set; nil maps are stored as {}.
func (l *Logger) Record(ctx context.Context, events []Event) error {
	n := 0
	if l.Flags.AuditLog {
		n += len(events)
	}
	if l.Flags.Telemetry {
		n += len(events)
	}
	if n == 0 {
		if l.OnAccepted != nil {
			l.OnAccepted(len(events))
		}
		return nil
	}
	rows := make([]db.Row, 0, n)
	var buf []byte
	var err error
	for _, e := range events {
		if l.Flags.AuditLog {
			var r db.Row
			if r, buf, err = toRow(e, buf); err != nil {
				return err
			}
			rows = append(rows, r)
		}
		if l.Flags.Telemetry {
			var r db.Row
			if r, buf, err = toRow(Anonymise(e), buf); err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	if err := l.Store.Insert(ctx, rows); err != nil {
		return err
	}
	if l.OnAccepted != nil {
		l.OnAccepted(len(events))
	}
	if l.OnStored != nil {
		if l.Flags.AuditLog {
			// One call per run of same-source events: a request's events
			// share their source.
			start := 0
			for i := 1; i <= len(events); i++ {
				if i == len(events) || events[i].Source != events[start].Source {
					l.OnStored(events[start].Source, i-start)
					start = i
				}
			}
		}
		if l.Flags.Telemetry {
			l.OnStored(db.SourceTelemetry, len(events))
		}
	}
	return nil
}

// toRow encodes e as a row with a fresh time-ordered id. buf is scratch
// space for the transit encoder, returned for reuse.
func toRow(e Event, buf []byte) (db.Row, []byte, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return db.Row{}, buf, err
	}
	r := db.Row{ID: id, Name: e.Name, Type: e.Type, Source: e.Source, ProfileID: e.ProfileID,
		IPAddr: e.IPAddr, TrackedAt: e.TrackedAt.UnixMilli(), CreatedAt: e.CreatedAt.UnixMilli()}
	if r.IPAddr == "" {
		r.IPAddr = ZeroIP
	}
	if r.Props, buf, err = verbose(e.Props, buf); err != nil {
		return r, buf, fmt.Errorf("audit: props: %w", err)
	}
	if r.Context, buf, err = verbose(e.Context, buf); err != nil {
		return r, buf, fmt.Errorf("audit: context: %w", err)
	}
	return r, buf, nil
}

func verbose(m *value.Map, buf []byte) (string, []byte, error) {
	if m.Len() == 0 {
		return "{}", buf, nil
	}
	buf, err := transit.AppendVerbose(buf[:0], m)
	if err != nil {
		return "", buf, err
	}
	return string(buf), buf, nil
}

func (l *Logger) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Submit stores one event from Go code that embeds tally (SPEC section
// 3.2). It fills what is missing: created_at now, tracked_at now, the
// zero profile, ip 0.0.0.0, source backend, empty maps; it cleans props of
// secrets (CleanProps) and checks the name, the type and the source (only
// backend or frontend). Tracked-at is kept as given (a backend knows when
// its own events happened).
func (l *Logger) Submit(ctx context.Context, e Event) error {
	if err := ValidateName(e.Name); err != nil {
		return err
	}
	if err := ValidateType(e.Type); err != nil {
		return err
	}
	now := l.now()
	e.CreatedAt = now
	if e.TrackedAt.IsZero() {
		e.TrackedAt = now
	}
	switch e.Source {
	case "":
		e.Source = db.SourceBackend
	case db.SourceBackend, db.SourceFrontend:
	default:
		// A full row labelled telemetry would skip anonymisation and be
		// shipped as is.
		return fmt.Errorf("source %q: want %s or %s", e.Source, db.SourceBackend, db.SourceFrontend)
	}
	if e.IPAddr == "" {
		e.IPAddr = ZeroIP
	}
	e.Props = CleanProps(e.Props)
	if e.Context == nil {
		e.Context = &value.Map{}
	}
	return l.Record(ctx, []Event{e})
}
