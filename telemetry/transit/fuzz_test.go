package transit

import (
	"testing"

	"tally/telemetry/value"
)

var fuzzSeeds = []string{
	`["^ ","~:a",1]`, `[["^ ","name",1],["^ ","^0",2]]`, `["~#set",[1,2]]`, `[["~#list",[]],["^0",[1]]]`,
	`{"~:a":{"~#cmap":[[1],2]}}`, `["~#'","~zNaN"]`, `"~t2024-06-01T12:00:00.123Z"`, `["~#u",[1,2]]`,
	`"\ud83d\ude00"`, `{"browserVersion":1.5,"a/b":[true,null,-0.0,1e300]}`,
}

// roundTrip checks that a decoded value writes and reads back equal in
// both forms.
func roundTrip(t *testing.T, v value.Value) {
	for _, enc := range []struct {
		name string
		f    func(value.Value) ([]byte, error)
	}{{"Encode", Encode}, {"EncodeVerbose", EncodeVerbose}} {
		b, err := enc.f(v)
		if err != nil {
			t.Fatalf("%s of a decoded value: %v", enc.name, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s(v)) of %q: %v", enc.name, b, err)
		}
		if !value.Equal(got, v) {
			t.Fatalf("%s round trip: %q reads as %#v, want %#v", enc.name, b, got, v)
		}
	}
}

// addSeeds seeds f with the fixtures, leaving out the big ones (the
// 100-event body, the cache wrap) that make mutation and minimising slow,
// and with fuzzSeeds.
func addSeeds(f *testing.F) {
	for _, fx := range fixtures(f) {
		if len(fx.body) <= 8<<10 {
			f.Add(fx.body)
		}
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		roundTrip(t, v)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeJSON(data)
		if err != nil {
			return
		}
		roundTrip(t, v)
	})
}
