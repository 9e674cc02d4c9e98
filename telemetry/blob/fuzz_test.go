package blob_test

import (
	"bytes"
	"testing"

	"tally/telemetry/blob"
	"tally/telemetry/fressian/fresstest"
)

// FuzzDecodeString checks that decoding never panics, never returns more
// than the declared length, and that an accepted payload re-encodes to a
// blob that decodes to the same bytes.
func FuzzDecodeString(f *testing.F) {
	for _, fx := range fresstest.Fixtures(f) {
		if len(fx.Blob) < 1<<16 {
			f.Add(fx.Blob)
		}
	}
	f.Add(blob.EncodeString(nil))
	f.Add(blob.EncodeString([]byte("hello")))
	f.Add("AAQAAAAK")
	f.Add("")
	d := blob.NewDecoder(1 << 20)
	f.Fuzz(func(t *testing.T, s string) {
		b, err := d.DecodeString(s)
		if err != nil {
			return
		}
		if len(b) > d.MaxSize() {
			t.Fatalf("decoded %d bytes, limit %d", len(b), d.MaxSize())
		}
		back, err := d.DecodeString(blob.EncodeString(b))
		if err != nil {
			t.Fatalf("re-encoded blob does not decode: %v", err)
		}
		if !bytes.Equal(back, b) {
			t.Fatalf("round trip changed the payload")
		}
	})
}
