package transit

import (
	"errors"
	"strings"
	"testing"

	"tally/telemetry/value"
)

func TestDecodeJSON(t *testing.T) {
	kw := value.K
	for _, tc := range []struct {
		in   string
		want value.Value
	}{
		{`null`, nil},
		{`[true,false]`, value.Vector{true, false}},
		{`42`, int64(42)},
		{`4.5`, 4.5},
		{`1e2`, 100.0},
		{`"~:not-transit"`, "~:not-transit"},
		{`"^0"`, "^0"},
		{`[]`, value.Vector{}},
		{`{}`, value.NewMap(0)},
		{`{"events":[{"name":"navigate","browserVersion":"131","profileId":"x","already-kebab":1}]}`,
			kmap(kw("events"), value.Vector{kmap(kw("name"), "navigate", kw("browser-version"), "131",
				kw("profile-id"), "x", kw("already-kebab"), int64(1))})},
		{`{"outer":{"innerKey":{"deepKey":[{"veryDeepKey":null}]}}}`,
			kmap(kw("outer"), kmap(kw("inner-key"), kmap(kw("deep-key"), value.Vector{kmap(kw("very-deep-key"), nil)})))},
		{`{"app.main/event":1,"":2,"__":3}`, kmap("app.main/event", int64(1), "", int64(2), "__", int64(3))},
		{`{"fooBar":1,"foo-bar":2}`, kmap(kw("foo-bar"), int64(2))},
		{`{"timestamp":"2024-06-01T12:00:00Z","ts":1717243200000}`,
			kmap(kw("timestamp"), "2024-06-01T12:00:00Z", kw("ts"), int64(1717243200000))},
	} {
		got, err := DecodeJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("DecodeJSON(%s): %v", tc.in, err)
			continue
		}
		if want := tc.want; !value.Equal(got, want) {
			t.Errorf("DecodeJSON(%s) = %#v, want %#v", tc.in, got, want)
		}
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"a":}`, `{"a" 1}`, `[1 2]`, `{"a":1,}`, `'x'`, `NaN`, `"\ud800`, "\"\xc3\x28\"", `{} {}`,
		strings.Repeat(`[`, MaxDepth+1) + strings.Repeat(`]`, MaxDepth+1),
	} {
		v, err := DecodeJSON([]byte(in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("DecodeJSON(%.40q) = %#v, %v; want a *SyntaxError", in, v, err)
		}
	}
}

func TestKebabCase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"browserVersion", "browser-version"},
		{"profileId", "profile-id"},
		{"profileID", "profile-id"},
		{"already-kebab", "already-kebab"},
		{"snake_case_key", "snake-case-key"},
		{"BrowserVersion", "browser-version"},
		{"HTMLParser", "htmlparser"},
		{"screen2Width", "screen2-width"},
		{"a--b", "a-b"},
		{"-lead and trail-", "lead-and-trail"},
		{"dot.separated", "dot-separated"},
		{"ÉtéÀLaPlage", "été-àla-plage"},
		{"it'sFine", "it's-fine"},
		{"x", "x"},
		{"", ""},
		{"___", ""},
	} {
		if got, want := KebabCase(tc.in), tc.want; got != want {
			t.Errorf("KebabCase(%q) = %q, want %q", tc.in, got, want)
		}
	}
}
