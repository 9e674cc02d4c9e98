package fressian_test

import (
	"math/rand/v2"
	"testing"

	"tally/telemetry/blob"
	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

// FuzzUnmarshal checks that the reader never panics, and that whatever it
// accepts re-encodes to bytes that read back as an equal value and encode
// to the same bytes again.
func FuzzUnmarshal(f *testing.F) {
	for _, fx := range fresstest.Fixtures(f) {
		if fx.Fress != nil {
			f.Add(fx.Fress)
		} else if b, err := blob.DecodeString(fx.Blob); err == nil && len(b) < 1<<17 {
			f.Add(b)
		}
	}
	for _, tt := range marshalTests {
		if b, err := fressian.Marshal(tt.v); err == nil {
			f.Add(b)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		if b, err := fressian.Marshal(fresstest.Random(r, 3)); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := fressian.Unmarshal(data)
		if err != nil {
			return
		}
		b, err := fressian.Marshal(v)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		back, err := fressian.Unmarshal(b)
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v\n%x", err, b)
		}
		if !value.Equal(back, v) {
			t.Fatalf("round trip changed the value:\n got %s\nwant %s", fresstest.Canon(back), fresstest.Canon(v))
		}
		again, err := fressian.Marshal(back)
		if err != nil || string(again) != string(b) {
			t.Fatalf("second encoding differs (%v)", err)
		}
	})
}
