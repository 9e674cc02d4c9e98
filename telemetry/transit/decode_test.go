package transit

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

var testUUID = uuid.MustParse("531a379e-31bb-4ce1-8690-158dceb64be6")

func kmap(kvs ...value.Value) *value.Map {
	m := value.NewMap(len(kvs) / 2)
	for i := 0; i < len(kvs); i += 2 {
		m.Append(kvs[i], kvs[i+1])
	}
	return m
}

func TestDecode(t *testing.T) {
	kw := value.K
	for _, tc := range []struct {
		in   string
		want value.Value
	}{
		{`null`, nil},
		{` true `, true},
		{`["~#'",false]`, false},
		{`0`, int64(0)},
		{`-0`, int64(0)},
		{`9223372036854775807`, int64(math.MaxInt64)},
		{`-9223372036854775808`, int64(math.MinInt64)},
		{`9223372036854775808`, 9223372036854775808.0},
		{`1.5`, 1.5},
		{`1e3`, 1000.0},
		{`-0.0`, math.Copysign(0, -1)},
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`, "a\"b\\c/d\b\f\n\r\t\u00e9\U0001F600"},
		{`"\ud800x"`, "\ufffdx"},
		{`"~~tilde"`, "~tilde"},
		{`"~^caret"`, "^caret"},
		{"\"~`tick\"", "`tick"},
		{`"^ "`, "^ "},
		{`"~:name"`, kw("name")},
		{`"~:app.main/event"`, value.Keyword{NS: "app.main", Name: "event"}},
		{`"~:a/b/c"`, value.Keyword{NS: "a", Name: "b/c"}},
		{`"~:/"`, kw("/")},
		{`"~$sym"`, value.Symbol{Name: "sym"}},
		{`"~$ns/sym"`, value.Symbol{NS: "ns", Name: "sym"}},
		{`"~u531a379e-31bb-4ce1-8690-158dceb64be6"`, testUUID},
		{`"~u531A379E-31BB-4CE1-8690-158DCEB64BE6"`, testUUID},
		{`"~m1717243200123"`, value.Instant(1717243200123)},
		{`"~m-1"`, value.Instant(-1)},
		{`"~t2024-06-01T12:00:00.123Z"`, value.Instant(1717243200123)},
		{`"~t2024-06-01T14:00:00.123456+02:00"`, value.Instant(1717243200123)},
		{`"~i9007199254740993"`, int64(9007199254740993)},
		{`"~i-42"`, int64(-42)},
		{`"~d1.5"`, 1.5},
		{`"~d2"`, 2.0},
		{`"~cx"`, value.Char('x')},
		{`"~c😀"`, value.Char('😀')},
		{`"~baGk="`, []byte("hi")},
		{`"~b"`, []byte{}},
		{`"~?t"`, true},
		{`"~?f"`, false},
		{`"~_"`, nil},
		{`"~zINF"`, math.Inf(1)},
		{`"~z-INF"`, math.Inf(-1)},
		{`[]`, value.Vector{}},
		{`[1,"a",null]`, value.Vector{int64(1), "a", nil}},
		{`["~:set",1]`, value.Vector{kw("set"), int64(1)}},
		{`["~~#set",[1]]`, value.Vector{"~#set", value.Vector{int64(1)}}},
		{`["^ "]`, value.NewMap(0)},
		{`{}`, value.NewMap(0)},
		{`["^ ","~:a",1,"b",[]]`, kmap(kw("a"), int64(1), "b", value.Vector{})},
		{`["^ ","~i1","x","~?t","y","~_","z","~d1.5","w","~m5","v"]`,
			kmap(int64(1), "x", true, "y", nil, "z", 1.5, "w", value.Instant(5), "v")},
		{`{"~:a":1,"~:b":{"~#set":[1]}}`, kmap(kw("a"), int64(1), kw("b"), value.Set{int64(1)})},
		{`["~#set",["~:telemetry"]]`, value.Set{kw("telemetry")}},
		{`["~#set",[1,2,1]]`, value.Set{int64(1), int64(2)}},
		{`["~#list",[1,[2]]]`, value.List{int64(1), value.Vector{int64(2)}}},
		{`{"~#list":[]}`, value.List{}},
		{`["~#cmap",[[1],"v",["^ "],"m"]]`, kmap(value.Vector{int64(1)}, "v", value.NewMap(0), "m")},
		{`["~#u","531a379e-31bb-4ce1-8690-158dceb64be6"]`, testUUID},
		{`{"~#uuid":"531a379e-31bb-4ce1-8690-158dceb64be6"}`, testUUID},
		{`["~#u",[5988159807121214689,-8750470377178248218]]`, testUUID},
		{`["~#m",1717243200123]`, value.Instant(1717243200123)},
		{`["~#m","5"]`, value.Instant(5)},
		{`{"~#t":"1970-01-01T00:00:00.005Z"}`, value.Instant(5)},
		{`["~#:","kw"]`, kw("kw")},
		// Repeated keys keep the first position and the last value.
		{`["^ ","~:a",1,"~:b",2,"~:a",3]`, kmap(kw("a"), int64(3), kw("b"), int64(2))},
		{`{"a":1,"a":2}`, kmap("a", int64(2))},
	} {
		got, err := Decode([]byte(tc.in))
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.in, err)
			continue
		}
		if want := tc.want; !value.Equal(got, want) {
			t.Errorf("Decode(%s) = %#v, want %#v", tc.in, got, want)
		}
	}
	if got, err := Decode([]byte(`"~zNaN"`)); err != nil || !math.IsNaN(got.(float64)) {
		t.Errorf(`Decode("~zNaN") = %v, %v`, got, err)
	}
}

func TestDecodeOrder(t *testing.T) {
	v, err := Decode([]byte(`["^ ","~:z",1,"~:a",2,"~:m",3,"~:a",4]`))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range v.(*value.Map).Entries {
		keys = append(keys, e.Key.(value.Keyword).Name)
	}
	if got, want := strings.Join(keys, ","), "z,a,m"; got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
}

func TestDecodeCache(t *testing.T) {
	kw := value.K
	for _, tc := range []struct {
		name string
		in   string
		want value.Value
	}{
		{"map keys", `[["^ ","name",1,"~:type",2],["^ ","^0",3,"^1",4]]`,
			value.Vector{kmap("name", int64(1), kw("type"), int64(2)), kmap("name", int64(3), kw("type"), int64(4))}},
		{"keyword values", `["~:abcd","^0","~:abc","~:abc"]`, value.Vector{kw("abcd"), kw("abcd"), kw("abc"), kw("abc")}},
		{"symbol values", `["~$abcd","^0"]`, value.Vector{value.Symbol{Name: "abcd"}, value.Symbol{Name: "abcd"}}},
		{"string values are not cached", `["abcdef","~:abcd","^0"]`, value.Vector{"abcdef", kw("abcd"), kw("abcd")}},
		{"uuid keys", `[["^ ","~u531a379e-31bb-4ce1-8690-158dceb64be6",1],["^ ","^0",2]]`,
			value.Vector{kmap(testUUID, int64(1)), kmap(testUUID, int64(2))}},
		{"short keys are not cached", `[["^ ","abc",1,"abcd",2],["^ ","^0",3]]`,
			value.Vector{kmap("abc", int64(1), "abcd", int64(2)), kmap("abcd", int64(3))}},
		{"tags", `[["~#set",[1]],["^0",[2]],["~#list",[]],["^1",[3]]]`,
			value.Vector{value.Set{int64(1)}, value.Set{int64(2)}, value.List{}, value.List{int64(3)}}},
		{"tag in a verbose object", `[{"~#list":[1]},{"^0":[2]}]`, value.Vector{value.List{int64(1)}, value.List{int64(2)}}},
		{"escaped keys", `[["^ ","~~abc",1],["^ ","^0",2]]`, value.Vector{kmap("~abc", int64(1)), kmap("~abc", int64(2))}},
		{"astral key counts as UTF-16", `[["^ ","😀😀",1],["^ ","^0",2]]`,
			value.Vector{kmap("😀😀", int64(1)), kmap("😀😀", int64(2))}},
		{"cache codes as keys", `[["^ ","~:k-0",0],["^ ","^0",1,"~:k-1",2]]`,
			value.Vector{kmap(kw("k-0"), int64(0)), kmap(kw("k-0"), int64(1), kw("k-1"), int64(2))}},
	} {
		got, err := Decode([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: Decode(%s): %v", tc.name, tc.in, err)
			continue
		}
		if want := tc.want; !value.Equal(got, want) {
			t.Errorf("%s: Decode(%s) = %#v, want %#v", tc.name, tc.in, got, want)
		}
	}
}

// TestDecodeCacheCodes checks three-character codes and the wrap after
// 1936 entries.
func TestDecodeCacheCodes(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[`)
	n := maxCacheEntries + 10
	for i := range n {
		b.WriteString(`"~:k`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('A' + i%26)))
		b.WriteString(itoa(i))
		b.WriteString(`",`)
	}
	// ^0 is now entry 1936 (the wrap), ^10 entry 44, ^[[ entry 1935.
	b.WriteString(`"^0","^10","^[["]`)
	v, err := Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	xs := v.(value.Vector)
	for _, tc := range []struct{ got, want value.Value }{
		{xs[n], xs[maxCacheEntries]},
		{xs[n+1], xs[44]},
		{xs[n+2], xs[1935]},
	} {
		if got, want := tc.got, tc.want; !value.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{
		``, ` `, `[`, `[1`, `[1,`, `[1,]`, `[,1]`, `{`, `{"a"`, `{"a":`, `{"a":1,}`, `{1:2}`, `"abc`, `"\`, `"\u12"`,
		`"\x"`, "\"a\x01\"", "\"\xff\"", `1 2`, `[] x`, `nul`, `tru`, `+1`, `01`, `1.`, `.5`, `1e`, `-`, `1e400`,
		`"~"`, `"~x1"`, `"~nBig"`, `"~f1.5"`, `"~rhttp://x"`, `"~u123"`, `"~u531a379e-31bb-4ce1-8690-158dceb64be"`,
		`"~mabc"`, `"~m1.5"`, `"~t2024-13-01"`, `"~i9223372036854775808"`, `"~i1.5"`, `"~d"`, `"~dabc"`, `"~d1e999"`,
		`"~c"`, `"~cab"`, `"~b!!"`, `"~?x"`, `"~_x"`, `"~zNAN"`,
		`"^0"`, `["~:abcd","^1"]`, `"^"`, `"^~~"`, `"^!"`, `"^0000"`,
		`"~#set"`, `["~#set"]`, `["~#set",[1],2]`, `["~#set",1]`, `["~#set",["^ "]]`, `["~#unknown",1]`,
		`{"~#unknown":1}`, `["~#cmap",[1]]`, `["~#u",[1]]`, `["~#m",1.5]`, `["~#'"]`, `["~#'",["~#set",[]],1]`,
		`[1,"~#set"]`, `["^ ",1,2]`, `["^ ","a"]`, `["^ ","a",1,"b"]`, `["^ ","~#set",1]`, `{"~#set":[1],"a":1}`,
		`{"a":1,"~#set":[1]}`, `{"a":"~#set"}`, `["~#list",["~#set",[1]]]`, `{"~#'":"~#set"}`, `["~#'",["~#set",[]]]`,
		strings.Repeat(`[`, MaxDepth+1) + strings.Repeat(`]`, MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth+1) + `1` + strings.Repeat(`}`, MaxDepth+1),
	} {
		v, err := Decode([]byte(in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Decode(%.40q) = %#v, %v; want a *SyntaxError", in, v, err)
		}
	}
	deep := strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth)
	if _, err := Decode([]byte(deep)); err != nil {
		t.Errorf("Decode of depth %d: %v", MaxDepth, err)
	}
}

// TestDecodeTruncated cuts every fixture short: each prefix must fail
// cleanly.
func TestDecodeTruncated(t *testing.T) {
	for _, f := range fixtures(t) {
		step := 1 + len(f.body)/500
		for n := 0; n < len(f.body); n += step {
			if _, err := Decode(f.body[:n]); err == nil {
				t.Errorf("%s cut at %d: no error", f.name, n)
			}
		}
	}
}

func TestDecodeLargeMapAndSet(t *testing.T) {
	var b strings.Builder
	b.WriteString(`["^ "`)
	for i := range 100 {
		b.WriteString(`,"~:k` + itoa(i%60) + `",` + itoa(i))
	}
	b.WriteString(`,["~:x"],1]`) // a vector key is not allowed in "^ " maps
	if _, err := Decode([]byte(b.String())); err == nil {
		t.Error("vector key in a ^ map: no error")
	}
	s := strings.TrimSuffix(b.String(), `,["~:x"],1]`) + `]`
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(*value.Map)
	if got, want := m.Len(), 60; got != want {
		t.Fatalf("len %d, want %d", got, want)
	}
	for i := range 60 {
		want := int64(i)
		if i < 40 {
			want = int64(i + 60)
		}
		if got, _ := m.GetKW("k" + itoa(i)); got != want {
			t.Errorf("k%d = %v, want %v", i, got, want)
		}
	}
	b.Reset()
	b.WriteString(`["~#set",[`)
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`["~#set",[` + itoa(i%30) + `]]`)
	}
	b.WriteString(`]]`)
	v, err = Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(v.(value.Set)), 30; got != want {
		t.Errorf("set of %d, want %d", got, want)
	}
}
