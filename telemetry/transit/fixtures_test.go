package transit

import (
	"bytes"
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// TestFixtures decodes every body transit-js wrote and compares it with
// what transit-js itself reads from it.
func TestFixtures(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			v, err := Decode(f.body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got, want := normal(t, jsView(t, v)), normal(t, parseCanon(t, f.canon)); got != want {
				t.Errorf("decoded\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestFixturesReencode checks that Encode writes the normal fixtures back
// byte for byte: the writer (cache included) matches transit-js.
func TestFixturesReencode(t *testing.T) {
	for _, f := range fixtures(t) {
		if f.name == "values-verbose" { // transit-js writes ~t instants there
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			v, err := Decode(f.body)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := b, f.body; !bytes.Equal(got, want) {
				t.Errorf("re-encoded\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestFixturePushTypes checks the Go types of a push-audit-events body,
// which the canonical form cannot tell apart (ints from doubles).
func TestFixturePushTypes(t *testing.T) {
	var body []byte
	for _, f := range fixtures(t) {
		if f.name == "push-ok" {
			body = f.body
		}
	}
	v, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := v.(*value.Map).GetKW("events")
	events := evs.(value.Vector)
	if got, want := len(events), 4; got != want {
		t.Fatalf("events: got %d, want %d", got, want)
	}
	ev := events[1].(*value.Map)
	props, _ := ev.GetKW("props")
	ctx, _ := ev.GetKW("context")
	get := func(m value.Value, k string) value.Value {
		x, ok := m.(*value.Map).GetKW(k)
		if !ok {
			t.Fatalf("no %s in %v", k, m)
		}
		return x
	}
	for _, tc := range []struct {
		name      string
		got, want value.Value
	}{
		{"name", get(ev, "name"), "open-file"},
		{"type", get(ev, "type"), "action"},
		{"timestamp", get(ev, "timestamp"), value.Instant(1717243201500)},
		{"profile-id", get(ev, "profile-id"), uuid.MustParse("0e4a2c9b-7c1d-4d2e-9f3a-5b6c7d8e9f01")},
		{"file-id", get(props, "file-id"), uuid.MustParse("9f8e7d6c-5b4a-4392-a1b0-c9d8e7f6a5b4")},
		{"shapes", get(props, "shapes"), int64(42)},
		{"zoom", get(props, "zoom"), 1.25},
		{"layers", get(props, "layers"), value.Vector{"rect", "text"}},
		{"data", get(props, "data"), value.Keyword{NS: "placeholder", Name: "map"}},
		{"screen-width", get(ctx, "screen-width"), int64(1920)},
		{"session", get(ctx, "session"), value.Instant(1717242600000)},
	} {
		if got, want := tc.got, tc.want; !value.Equal(got, want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, want)
		}
	}
}
