package telemetry

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/loadtest"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// viaDecode is the general path: decode the stored text, write the value.
// It returns nil when the text does not decode to a map.
func viaDecode(prefix func(*fressian.Encoder), stored string) []byte {
	v, err := transit.Decode([]byte(stored))
	if err != nil {
		return nil
	}
	if _, ok := v.(*value.Map); !ok {
		return nil
	}
	f := fressian.NewEncoder(256)
	prefix(f)
	if err := f.WriteValue(v); err != nil {
		return nil
	}
	return f.Bytes()
}

// viaFlat is the fast path; nil when it declines.
func viaFlat(prefix func(*fressian.Encoder), stored string) []byte {
	entries, ok := flatMap(stored, nil)
	if !ok {
		return nil
	}
	f := fressian.NewEncoder(256)
	prefix(f)
	writeFlat(f, entries)
	return f.Bytes()
}

// A prefix that puts keywords and strings in the encoder's caches first,
// as earlier rows of a page do.
func warmPrefix(f *fressian.Encoder) {
	f.BeginMap()
	f.WriteKeywordKey("", "version")
	f.WriteKeyword("", "chrome")
	f.WriteKeywordKey("", "locale")
	f.WriteString("en")
	f.EndMap()
}

func coldPrefix(*fressian.Encoder) {}

// checkSame fails when the fast path accepts text and writes other bytes
// than the general path, or accepts text the general path refuses.
func checkSame(t testing.TB, stored string) (fast bool) {
	for _, prefix := range []func(*fressian.Encoder){coldPrefix, warmPrefix} {
		got := viaFlat(prefix, stored)
		if got == nil {
			return false
		}
		want := viaDecode(prefix, stored)
		if want == nil {
			t.Fatalf("fast path accepted %q, which does not decode to a map", stored)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("fast path wrote other bytes for %q:\n got % x\nwant % x", stored, got, want)
		}
	}
	return true
}

func TestFlatMapMatchesDecode(t *testing.T) {
	// Every anonymised context takes the fast path.
	now := time.Now()
	for i := range 200 {
		r, err := loadtest.TelemetryRow(i, now)
		if err != nil {
			t.Fatal(err)
		}
		if !checkSame(t, r.Context) {
			t.Fatalf("telemetry context %q took the general path", r.Context)
		}
	}
	rows, err := loadtest.PageRows(30)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !checkSame(t, r.Context) {
			t.Fatalf("page context %q took the general path", r.Context)
		}
	}
	fast := []string{
		`{}`, ` { } `, `{"~:a":1}`, ` {"~:a" : "x" , "~:b":-0 }`, `{"~:a":""}`,
		`{"~:a":true,"~:b":false,"~:c":null}`, `{"~:a":"~~x","~:b":"~^0","~:c":"~` + "`" + `y"}`,
		`{"~:a":"~:kw","~:b":"~u5f3c1a2b-0000-4000-8000-0000deadbeef","~:c":"~m1735689600000"}`,
		`{"~:a":9223372036854775807,"~:b":-9223372036854775808}`, `{"~:a":"~m-5"}`,
		`{"~:é":"ünïcode ✓ 😀"}`, `{"~:a":"` + "`" + `x"}`, `{"~:abc":"x","~:abcd":"~:abcd"}`,
	}
	for _, s := range fast {
		if !checkSame(t, s) {
			t.Errorf("%q took the general path", s)
		}
	}
	// Each of these must be declined (the general path decides).
	slow := []string{
		``, `{`, `{"~:a":1`, `{"~:a":1,}`, `{"~:a":1}x`, `[]`, `{"a":1}`, `{"~:":1}`, `{"~:ns/a":1}`,
		`{"~:a":"~:ns/b"}`, `{"~:a":1,"~:a":2}`, `{"~:a":1.5}`, `{"~:a":1e3}`, `{"~:a":01}`,
		`{"~:a":9223372036854775808}`, `{"~:a":"x\"y"}`, `{"~:a":"\u0041"}`, "{\"~:a\":\"\x01\"}",
		"{\"~:a\":\"\xff\"}", `{"~:a":"^0"}`, `{"~:a":"~"}`, `{"~:a":"~#set"}`, `{"~#set":[]}`,
		`{"~:a":"~i5"}`, `{"~:a":"~d1.5"}`, `{"~:a":"~cx"}`, `{"~:a":"~$sym"}`, `{"~:a":"~?t"}`,
		`{"~:a":"~ubad"}`, `{"~:a":"~m+5"}`, `{"~:a":"~m"}`, `{"~:a":{}}`, `{"~:a":[1]}`,
		`{"~:a":tru}`, `{"~:a":nul}`, `{"~:a":-}`, `{"^0":1}`,
	}
	for _, s := range slow {
		if checkSame(t, s) {
			t.Errorf("%q took the fast path", s)
		}
	}
}

// Random flat maps as tally stores them: whatever the fast path takes
// must match the general path byte for byte.
func TestFlatMapRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	taken := 0
	for range 3000 {
		m := value.NewMap(8)
		seen := map[string]bool{}
		for range r.IntN(12) {
			k := fresstest.RandomString(r)
			if r.IntN(4) == 0 {
				k = []string{"version", "locale", "os", "screen-width", "ns/k"}[r.IntN(5)]
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			m.Append(value.K(k), fresstest.Random(r, 0))
		}
		b, err := transit.EncodeVerbose(m)
		if err != nil {
			continue
		}
		if checkSame(t, string(b)) {
			taken++
		}
	}
	if taken < 300 {
		t.Fatalf("the fast path took only %d of 3000 random maps", taken)
	}
}

func FuzzFlatMap(f *testing.F) {
	for _, s := range []string{`{}`, `{"~:a":1}`, `{"~:a":"~:b","~:c":"~m5"}`, `{"~:a":"~u5f3c1a2b-0000-4000-8000-0000deadbeef"}`,
		`{"~:version":"2.4.3","~:screen-width":1920}`, `{"~:a":1,"~:a":2}`, `{"~:a":"~~x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSame(t, s) })
}
