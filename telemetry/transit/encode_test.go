package transit

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"tally/telemetry/value"
)

func TestEncode(t *testing.T) {
	kw := value.K
	for _, tc := range []struct {
		in              value.Value
		normal, verbose string
	}{
		{nil, `["~#'",null]`, `{"~#'":null}`},
		{true, `["~#'",true]`, `{"~#'":true}`},
		{int64(42), `["~#'",42]`, `{"~#'":42}`},
		{int64(1) << 53, `["~#'","~i9007199254740992"]`, `{"~#'":"~i9007199254740992"}`},
		{int64(-1<<53 + 1), `["~#'",-9007199254740991]`, `{"~#'":-9007199254740991}`},
		{2.0, `["~#'",2.0]`, `{"~#'":2.0}`},
		{math.Copysign(0, -1), `["~#'",-0.0]`, `{"~#'":-0.0}`},
		{0.1, `["~#'",0.1]`, `{"~#'":0.1}`},
		{1e21, `["~#'",1e+21]`, `{"~#'":1e+21}`},
		{1.5e-7, `["~#'",1.5e-7]`, `{"~#'":1.5e-7}`},
		{1e20, `["~#'",100000000000000000000.0]`, `{"~#'":100000000000000000000.0}`},
		{math.NaN(), `["~#'","~zNaN"]`, `{"~#'":"~zNaN"}`},
		{math.Inf(-1), `["~#'","~z-INF"]`, `{"~#'":"~z-INF"}`},
		{"hello", `["~#'","hello"]`, `{"~#'":"hello"}`},
		{"~x", `["~#'","~~x"]`, `{"~#'":"~~x"}`},
		{"a\"\n\x01</>\u2028", `["~#'","a\"\n\u0001</>` + "\u2028" + `"]`, `{"~#'":"a\"\n\u0001</>` + "\u2028" + `"}`},
		{"bad \xff", `["~#'","bad ` + "\ufffd" + `"]`, `{"~#'":"bad ` + "\ufffd" + `"}`},
		{value.Char('c'), `["~#'","~cc"]`, `{"~#'":"~cc"}`},
		{[]byte("hi"), `["~#'","~baGk="]`, `{"~#'":"~baGk="}`},
		{testUUID, `["~#'","~u531a379e-31bb-4ce1-8690-158dceb64be6"]`, `{"~#'":"~u531a379e-31bb-4ce1-8690-158dceb64be6"}`},
		{value.Instant(1717243200123), `["~#'","~m1717243200123"]`, `{"~#'":"~m1717243200123"}`},
		{value.Symbol{NS: "a", Name: "b"}, `["~#'","~$a/b"]`, `{"~#'":"~$a/b"}`},
		{value.Set{kw("telemetry")}, `["~#set",["~:telemetry"]]`, `{"~#set":["~:telemetry"]}`},
		{value.Vector{value.Set{}, value.Set{}, value.List{}}, `[["~#set",[]],["^0",[]],["~#list",[]]]`,
			`[{"~#set":[]},{"~#set":[]},{"~#list":[]}]`},
		{value.NewMap(0), `["^ "]`, `{}`},
		{kmap(kw("type"), kw("validation"), kw("code"), kw("params-validation"), kw("hint"), "bad"),
			`["^ ","~:type","~:validation","~:code","~:params-validation","~:hint","bad"]`,
			`{"~:type":"~:validation","~:code":"~:params-validation","~:hint":"bad"}`},
		{value.Vector{kmap(kw("route"), "x", kw("team-id"), testUUID), kmap(kw("route"), "y", "key", "~z")},
			`[["^ ","~:route","x","~:team-id","~u531a379e-31bb-4ce1-8690-158dceb64be6"],["^ ","^0","y","key","~~z"]]`,
			`[{"~:route":"x","~:team-id":"~u531a379e-31bb-4ce1-8690-158dceb64be6"},{"~:route":"y","key":"~~z"}]`},
		{kmap(nil, 1.5, true, int64(1), int64(2), 2.5, 3.0, "~k", value.Instant(5), value.Char('c')),
			`["^ ","~_",1.5,"~?t",1,"~i2",2.5,"~d3.0","~~k","~m5","~cc"]`,
			`{"~_":1.5,"~?t":1,"~i2":2.5,"~d3.0":"~~k","~m5":"~cc"}`},
		{kmap(value.Vector{int64(1)}, "v", kw("abcd"), kw("abcd")),
			`["~#cmap",[[1],"v","~:abcd","^1"]]`, `{"~#cmap":[[1],"v","~:abcd","~:abcd"]}`},
	} {
		if got, err := Encode(tc.in); err != nil || string(got) != tc.normal {
			t.Errorf("Encode(%#v) = %s, %v; want %s", tc.in, got, err, tc.normal)
		}
		if got, err := EncodeVerbose(tc.in); err != nil || string(got) != tc.verbose {
			t.Errorf("EncodeVerbose(%#v) = %s, %v; want %s", tc.in, got, err, tc.verbose)
		}
	}
}

func TestAppendVerbose(t *testing.T) {
	dst := []byte("prefix:")
	got, err := AppendVerbose(dst, kmap(value.K("a"), int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(got), `prefix:{"~:a":1}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	got, err = AppendVerbose(dst, kmap(value.K("a"), 1))
	if err == nil || !bytes.Equal(got, dst) {
		t.Errorf("AppendVerbose of an int: %q, %v; want dst back and an error", got, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	cyclic := value.NewMap(1)
	cyclic.Append(value.K("self"), cyclic)
	var nilMap *value.Map
	for _, v := range []value.Value{
		1, int32(1), float32(1), struct{}{}, []string{"x"}, map[string]any{}, nilMap,
		value.Vector{value.Vector{int8(1)}}, kmap(int(1), "k"), value.Char(-1), value.Char(0xd800),
		cyclic, value.Set{cyclic},
	} {
		if got, err := Encode(v); err == nil {
			t.Errorf("Encode(%T) = %s, want an error", v, got)
		}
		if got, err := EncodeVerbose(v); err == nil {
			t.Errorf("EncodeVerbose(%T) = %s, want an error", v, got)
		}
	}
}

// TestRoundTrip writes every interop value both ways and reads it back.
func TestRoundTrip(t *testing.T) {
	for _, v := range interopValues() {
		for _, enc := range []func(value.Value) ([]byte, error){Encode, EncodeVerbose} {
			b, err := enc(v)
			if err != nil {
				t.Fatalf("encode %#v: %v", v, err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%.200s): %v", b, err)
			}
			if !value.Equal(got, v) {
				t.Errorf("round trip of %.200s: got %#v", b, got)
			}
		}
	}
}

// TestCacheWrapWriter checks the writer's codes past 44 and past the wrap.
func TestCacheWrapWriter(t *testing.T) {
	var xs value.Vector
	for i := range maxCacheEntries + 2 {
		xs = append(xs, value.K("kw"+itoa(i)))
	}
	xs = append(xs, value.K("kw44"), value.K("kw0"), value.K("kw"+itoa(maxCacheEntries+1)))
	b, err := Encode(xs)
	if err != nil {
		t.Fatal(err)
	}
	// kw44 was entry 44 ("^10") before the wrap, so it is written again;
	// so is kw0; the last entry was written after the wrap as entry 1.
	if got, want := string(b), `"~:kw44","~:kw0","^1"]`; !strings.HasSuffix(got, want) {
		t.Errorf("ends %s, want …%s", got[len(got)-40:], want)
	}
	v, err := Decode(b)
	if err != nil || !value.Equal(v, xs) {
		t.Errorf("round trip: %v", err)
	}
	var ys value.Vector
	for i := range 50 {
		ys = append(ys, value.K("kw"+itoa(i)))
	}
	ys = append(ys, value.K("kw44"), value.K("kw43"))
	b, _ = Encode(ys)
	if got, want := string(b), `"^10","^["]`; !strings.HasSuffix(got, want) {
		t.Errorf("ends %s, want …%s", got[len(got)-20:], want)
	}
}
