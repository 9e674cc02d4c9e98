package transit

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"tally/telemetry/internal/interop"
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// jsDir holds interop.js and its package.json; `npm ci` there installs
// transit-js.
const jsDir = "../../testdata/interop/js"

// needNode skips the test unless node and transit-js are installed.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		interop.Missing(t, "node is not installed: skipping the transit-js interop test")
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "transit-js")); err != nil {
		interop.Missing(t, "transit-js is not installed: run `npm ci` in %s", filepath.Clean(jsDir))
	}
}

func runNode(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("node", append([]string{"interop.js"}, args...)...)
	cmd.Dir = jsDir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node interop.js %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// interopValues covers every type of the model, the awkward corners of
// strings and numbers, and the cache.
func interopValues() []value.Value {
	u := uuid.MustParse("531a379e-31bb-4ce1-8690-158dceb64be6")
	kw := value.K
	m := func(kvs ...value.Value) *value.Map {
		out := value.NewMap(len(kvs) / 2)
		for i := 0; i < len(kvs); i += 2 {
			out.Append(kvs[i], kvs[i+1])
		}
		return out
	}
	vals := []value.Value{
		nil, true, false, int64(0), int64(-1), int64(maxSafeInt), int64(-maxSafeInt),
		int64(maxSafeInt + 1), int64(math.MinInt64), int64(math.MaxInt64),
		0.0, math.Copysign(0, -1), 2.0, 1.5, 1e21, 1e-7, 1e-6, 123456789.125, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
		"", "plain", "~", "^", "`", "~~", "^ ", "^0", "~:not-a-keyword", "ünïcödé 😀",
		"ctl \x00\x01\x1f\x7f \" \\ \n\r\t\b\f </script> \u2028",
		kw("a"), kw("abcd"), value.Keyword{NS: "app.main", Name: "event"}, value.Symbol{Name: "s"},
		value.Symbol{NS: "my.ns", Name: "sym"}, value.Char('x'), value.Char('😀'), u, uuid.Nil,
		value.Instant(0), value.Instant(1717243200123), value.Instant(-86400001),
		[]byte{}, []byte{0, 1, 2, 250, 255},
		value.Vector{}, value.List{}, value.Set{}, value.NewMap(0),
		value.Vector{int64(1), value.Vector{"a", value.List{kw("abcd"), kw("abcd")}}},
		value.Set{kw("telemetry"), kw("audit-log"), int64(1), "s"},
		value.Vector{value.Set{int64(1)}, value.Set{int64(2)}, value.List{int64(3)}, value.List{}},
		m(kw("route"), "x", kw("team-id"), u, kw("at"), value.Instant(5)),
		m(nil, "nil", true, "true", int64(7), "int", int64(1)<<60, "big", 1.5, "double",
			math.NaN(), "nan", "s", "string", "~s", "escaped", value.Char('c'), "char",
			u, "uuid", value.Instant(9), "instant", value.Symbol{Name: "sym"}, "symbol",
			[]byte("hi"), "bytes"),
		m(value.Vector{int64(1), int64(2)}, "vector key", m(kw("a"), int64(1)), "map key",
			value.Set{kw("x")}, "set key", kw("plain"), "plain"),
		m(kw("abcd"), m(kw("abcd"), m(kw("abcd"), value.Vector{kw("abcd"), value.Symbol{Name: "abcd"}}))),
	}
	// Enough cacheable strings for three-character codes and a wrap.
	var many value.Vector
	for i := range 2100 {
		many = append(many, kw(fmt.Sprintf("k%04d", i)))
	}
	vals = append(vals, value.Vector{many, many, m(kw("k0001"), many[:50])})
	// Doubles of every magnitude, to check the number format.
	r := rand.New(rand.NewPCG(1, 2))
	var floats value.Vector
	for range 500 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		floats = append(floats, f, r.NormFloat64()*math.Pow(10, float64(r.IntN(50)-25)))
	}
	return append(vals, floats)
}

// TestInteropTransitJSReads has transit-js read what Encode and
// EncodeVerbose write, values and re-encoded fixtures alike.
func TestInteropTransitJSReads(t *testing.T) {
	needNode(t)
	type want struct {
		what  string
		canon string
	}
	var in bytes.Buffer
	var wants []want
	add := func(what string, v value.Value, canon string) {
		for _, enc := range []struct {
			name string
			f    func(value.Value) ([]byte, error)
		}{{"Encode", Encode}, {"EncodeVerbose", EncodeVerbose}} {
			b, err := enc.f(v)
			if err != nil {
				t.Fatalf("%s(%s): %v", enc.name, what, err)
			}
			in.Write(b)
			in.WriteByte('\n')
			wants = append(wants, want{enc.name + " " + what, canon})
		}
	}
	for i, v := range interopValues() {
		add(fmt.Sprintf("value %d (%T)", i, v), v, normal(t, jsView(t, v)))
	}
	for _, f := range fixtures(t) {
		v, err := Decode(f.body)
		if err != nil {
			t.Fatal(err)
		}
		add("fixture "+f.name, v, normal(t, parseCanon(t, f.canon)))
	}
	sc := bufio.NewScanner(bytes.NewReader(runNode(t, in.Bytes(), "decode")))
	sc.Buffer(nil, 16<<20)
	n := 0
	for ; sc.Scan(); n++ {
		if n >= len(wants) {
			t.Fatalf("node printed more than %d lines", len(wants))
		}
		if got, want := normal(t, parseCanon(t, sc.Bytes())), wants[n].canon; got != want {
			t.Errorf("%s: transit-js read\n got %.2000s\nwant %.2000s", wants[n].what, got, want)
		}
	}
	if got, want := n, len(wants); got != want {
		t.Errorf("node printed %d lines, want %d", got, want)
	}
}

// TestInteropFixturesCurrent regenerates the fixtures with transit-js and
// checks that the committed ones are what it writes.
func TestInteropFixturesCurrent(t *testing.T) {
	needNode(t)
	dir := t.TempDir()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, nil, "gen", abs)
	fresh, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob(filepath.Join(fixtureDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(committed), len(fresh); got != want {
		t.Errorf("%d committed fixture files, transit-js writes %d", got, want)
	}
	for _, p := range fresh {
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(fixtureDir, filepath.Base(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from what `node interop.js gen` writes (%v)", filepath.Base(p), err)
		}
	}
}
