package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/value"
)

func kmap(kv ...value.Value) *value.Map {
	m := &value.Map{}
	for i := 0; i < len(kv); i += 2 {
		m.Append(kv[i], kv[i+1])
	}
	return m
}

func TestAnonymise(t *testing.T) {
	profile := uuid.MustParse("0b6f2f26-7a4e-4b52-9f6e-3c2b7f6a1d10")
	tracked := time.Date(2026, 3, 4, 23, 59, 59, 999e6, time.UTC)
	created := time.Date(2026, 3, 5, 0, 0, 1, 0, time.UTC)
	tests := []struct {
		name    string
		source  string
		context *value.Map
		want    *value.Map
	}{
		{"frontend safe keys kept", db.SourceFrontend,
			kmap(value.K("browser"), "firefox", value.K("screen-width"), int64(1920), value.K("locale"), "en"),
			kmap(value.K("browser"), "firefox", value.K("screen-width"), int64(1920), value.K("locale"), "en")},
		{"frontend unsafe keys dropped", db.SourceFrontend,
			kmap(value.K("email"), "a@b.c", value.K("session-id"), "s3cr3t", value.K("os"), "linux",
				value.K("initiator"), "app"),
			kmap(value.K("os"), "linux")},
		{"backend keys", db.SourceBackend,
			kmap(value.K("version"), "2.0", value.K("initiator"), "app", value.K("browser"), "x",
				value.K("access-token-id"), uuid.New(), value.K("external-session-id"), "e"),
			kmap(value.K("version"), "2.0", value.K("initiator"), "app")},
		{"nested values dropped", db.SourceFrontend,
			kmap(value.K("browser"), kmap(value.K("name"), "x"), value.K("os"), value.Vector{"a"},
				value.K("locale"), nil),
			kmap()},
		{"namespaced and string keys dropped", db.SourceFrontend,
			kmap(value.Keyword{NS: "x", Name: "browser"}, "a", "os", "linux"),
			kmap()},
		{"nil context", db.SourceBackend, nil, kmap()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Event{Name: "n", Type: TypeAction, Source: tt.source, ProfileID: profile,
				IPAddr: "192.0.2.7", Props: kmap(value.K("email"), "a@b.c"), Context: tt.context,
				TrackedAt: tracked, CreatedAt: created}
			got := Anonymise(in)
			if got.Source != db.SourceTelemetry || got.IPAddr != ZeroIP || got.ProfileID != profile ||
				got.Name != "n" || got.Type != TypeAction {
				t.Fatalf("Anonymise = %+v", got)
			}
			if got.Props.Len() != 0 {
				t.Fatalf("props = %v, want empty", got.Props)
			}
			if want := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC); !got.TrackedAt.Equal(want) {
				t.Fatalf("tracked-at = %v, want %v", got.TrackedAt, want)
			}
			if want := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC); !got.CreatedAt.Equal(want) {
				t.Fatalf("created-at = %v, want %v", got.CreatedAt, want)
			}
			if !value.Equal(got.Context, tt.want) {
				t.Fatalf("context = %v, want %v", got.Context, tt.want)
			}
			if in.IPAddr != "192.0.2.7" || in.Props.Len() != 1 {
				t.Fatal("Anonymise changed its input")
			}
		})
	}
}

// captureStore keeps what a Logger stores.
type captureStore struct{ rows []db.Row }

func (s *captureStore) Insert(_ context.Context, rows []db.Row) error {
	s.rows = append(s.rows, rows...)
	return nil
}

// For random events full of personal data, no string from props and no
// context key outside the safe lists ever reaches a telemetry row.
func TestAnonymiseNeverLeaks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	store := &captureStore{}
	l := &Logger{Store: store, Flags: Flags{Telemetry: true}}
	for i := 0; i < 500; i++ {
		var secrets []string
		secret := func() string {
			s := fmt.Sprintf("%s-%d@example.org", []string{"mail", "session", "tok", "sid"}[r.IntN(4)], r.Int64())
			secrets = append(secrets, s)
			return s
		}
		var randomValue func(depth int) value.Value
		randomValue = func(depth int) value.Value {
			switch n := r.IntN(6); {
			case n == 0 && depth < 3:
				m := &value.Map{}
				for j := 0; j < r.IntN(4); j++ {
					m.Append(value.K(secret()), randomValue(depth+1))
				}
				return m
			case n == 1 && depth < 3:
				return value.Vector{secret(), randomValue(depth + 1)}
			case n == 2:
				return int64(r.IntN(100))
			default:
				return secret()
			}
		}
		props, ctx := &value.Map{}, &value.Map{}
		for j := 0; j < 1+r.IntN(6); j++ {
			props.Append(value.K(secret()), randomValue(0))
		}
		keys := []string{"version", "browser", "os", "email", "session-id", "access-token-id",
			"file-stats", "initiator", "locale", "external-session-id"}
		for _, k := range keys {
			if r.IntN(2) == 0 {
				ctx.Append(value.K(k), randomValue(1))
			}
		}
		source := []string{db.SourceFrontend, db.SourceBackend}[r.IntN(2)]
		allowed := safeContext[source]
		store.rows = store.rows[:0]
		now := time.Now().UTC()
		err := l.Record(context.Background(), []Event{{Name: "e", Type: TypeAction, Source: source,
			IPAddr: "198.51.100.4", Props: props, Context: ctx, TrackedAt: now, CreatedAt: now}})
		if err != nil {
			t.Fatal(err)
		}
		if len(store.rows) != 1 {
			t.Fatalf("%d rows stored, want 1 telemetry row", len(store.rows))
		}
		row := store.rows[0]
		if row.Props != "{}" || row.IPAddr != ZeroIP || row.Source != db.SourceTelemetry {
			t.Fatalf("row = %+v", row)
		}
		text := row.Name + row.Props + row.Context
		for _, s := range secrets {
			// Safe keys may carry a scalar from context; props never.
			if strings.Contains(text, s) && !contextHasSafeScalar(ctx, allowed, s) {
				t.Fatalf("telemetry row leaks %q: %+v", s, row)
			}
		}
		for _, k := range keys {
			if !allowed[k] && strings.Contains(row.Context, "~:"+k+`"`) {
				t.Fatalf("telemetry row keeps context key %q: %s", k, row.Context)
			}
		}
	}
}

func contextHasSafeScalar(ctx *value.Map, allowed map[string]bool, s string) bool {
	for _, e := range ctx.Entries {
		if k := e.Key.(value.Keyword); allowed[k.Name] && e.Val == s {
			return true
		}
	}
	return false
}

func TestCleanProps(t *testing.T) {
	in := kmap(value.K("password"), "p", value.K("old-password"), "o", value.K("token"), "t",
		value.K("session-id"), "s", value.K("client-secret"), "c", value.Keyword{NS: "app", Name: "x"}, "n",
		value.K("empty"), nil, value.K("keep"), "k", "token", "t2", "ns/key", "v", "plain", int64(1))
	got := CleanProps(in)
	want := kmap(value.K("keep"), "k", "plain", int64(1))
	if !value.Equal(got, want) {
		t.Fatalf("CleanProps = %v, want %v", got, want)
	}
	if in.Len() != 11 {
		t.Fatal("CleanProps changed its input")
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"navigate", true},
		{"app.main/create-file", true},
		{"", false},
		{"has space", false},
		{"tab\there", false},
		{"ctl\x01", false},
		{strings.Repeat("é", 250), true},
		{strings.Repeat("a", 251), false},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		if err := ValidateName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestAdjustTimestamp(t *testing.T) {
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		tracked time.Time
		moved   bool
	}{
		{"now", created, false},
		{"59 minutes ago", created.Add(-59 * time.Minute), false},
		{"an hour ago", created.Add(-time.Hour), false},
		{"61 minutes ago", created.Add(-61 * time.Minute), true},
		{"future", created.Add(time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Event{TrackedAt: tt.tracked, CreatedAt: created}
			AdjustTimestamp(&e)
			orig, has := e.Context.GetKW("original-tracked-at")
			if tt.moved {
				if !e.TrackedAt.Equal(created) || !has || orig != value.InstantOf(tt.tracked) {
					t.Fatalf("tracked = %v, context = %v; want moved to created", e.TrackedAt, e.Context)
				}
			} else if !e.TrackedAt.Equal(tt.tracked) || has {
				t.Fatalf("tracked = %v, context = %v; want unchanged", e.TrackedAt, e.Context)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		in      string
		want    Flags
		wantErr bool
	}{
		{"", Flags{Telemetry: true}, false},
		{"enable-audit-log", Flags{AuditLog: true, Telemetry: true}, false},
		{"disable-telemetry enable-audit-log enable-login-with-password", Flags{AuditLog: true}, false},
		{"enable-telemetry disable-telemetry", Flags{}, false},
		{"enable-audit-log-archive enable-audit-log-gc", Flags{Telemetry: true, AuditLogArchive: true, AuditLogGC: true}, false},
		{"telemetry", Flags{}, true},
		{"enable-", Flags{}, true},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.in, DefaultFlags())
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseFlags(%q) = %+v, %v; want %+v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
