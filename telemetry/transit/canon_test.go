package transit

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// fixtureDir holds the golden bodies written by testdata/interop/js.
const fixtureDir = "../../testdata/transit"

// jsView is the canonical form (see testdata/interop/js/interop.js) of
// what transit-js reads from a Go value written by this package.
func jsView(t testing.TB, v value.Value) any {
	t.Helper()
	obj := func(k string, x any) any { return map[string]any{k: x} }
	seq := func(xs []value.Value) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = jsView(t, x)
		}
		return out
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x
	case value.Char:
		return string(rune(x))
	case int64:
		if -maxSafeInt <= x && x <= maxSafeInt {
			return obj("num", strconv.FormatInt(x, 10))
		}
		return obj("int", strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			return obj("num", "NaN")
		case math.IsInf(x, 1):
			return obj("num", "Infinity")
		case math.IsInf(x, -1):
			return obj("num", "-Infinity")
		}
		return obj("num", string(appendJSNumber(nil, x)))
	case value.Keyword:
		return obj("kw", x.FullName())
	case value.Symbol:
		return obj("sym", x.FullName())
	case uuid.UUID:
		return obj("uuid", x.String())
	case value.Instant:
		return obj("inst", strconv.FormatInt(int64(x), 10))
	case []byte:
		return obj("bytes", base64.StdEncoding.EncodeToString(x))
	case value.Vector:
		return obj("vec", seq(x))
	case value.List:
		return obj("list", seq(x))
	case value.Set:
		return obj("set", seq(x))
	case *value.Map:
		pairs := make([]any, len(x.Entries))
		for i, e := range x.Entries {
			pairs[i] = []any{jsView(t, e.Key), jsView(t, e.Val)}
		}
		return obj("map", pairs)
	}
	t.Fatalf("jsView: unexpected %T", v)
	return nil
}

// normal renders a canonical form as JSON with set elements and map
// entries sorted, so that order does not count.
func normal(t testing.TB, x any) string {
	t.Helper()
	var walk func(any) any
	walk = func(x any) any {
		switch y := x.(type) {
		case []any:
			out := make([]any, len(y))
			for i, e := range y {
				out[i] = walk(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(y))
			for k, e := range y {
				out[k] = walk(e)
				if k == "set" || k == "map" {
					xs := out[k].([]any)
					keys := make([]string, len(xs))
					for i, e := range xs {
						b, _ := json.Marshal(e)
						keys[i] = string(b)
					}
					slices.Sort(keys)
					sorted := make([]any, len(keys))
					for i, s := range keys {
						sorted[i] = json.RawMessage(s)
					}
					out[k] = sorted
				}
			}
			return out
		}
		return x
	}
	b, err := json.Marshal(walk(x))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseCanon reads one canonical form printed by interop.js.
func parseCanon(t testing.TB, b []byte) any {
	t.Helper()
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("canonical form %q: %v", b, err)
	}
	return x
}

type fixture struct {
	name  string
	body  []byte
	canon []byte
}

// fixtures loads every golden body with its canonical form.
func fixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.transit"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	var out []fixture
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := os.ReadFile(strings.TrimSuffix(p, ".transit") + ".canon.json")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{strings.TrimSuffix(filepath.Base(p), ".transit"), body, canon})
	}
	return out
}
