package blob_test

import (
	"testing"

	"tally/telemetry/blob"
	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
)

// The ship path: stream a 10,000-event page (SPEC section 5) as fressian,
// compress and append the blob string to a request body. SetBytes is the
// fressian size.
func BenchmarkEncodePage(b *testing.B) {
	page := fresstest.Page(10000)
	e := fressian.NewEncoder(2 << 20)
	body := make([]byte, 0, 1<<20)
	// Warm the shared zstd encoders, as a running server has them.
	if err := fresstest.StreamPage(e, page); err != nil {
		b.Fatal(err)
	}
	for range 4 {
		body = blob.AppendString(body[:0], e.Bytes())
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		if err := fresstest.StreamPage(e, page); err != nil {
			b.Fatal(err)
		}
		body = blob.AppendString(body[:0], e.Bytes())
	}
	b.SetBytes(int64(e.Len()))
	b.ReportMetric(float64(len(body)), "blob-chars")
}

// The reverse: base64, zstd and fressian decoding of the page's blob string.
func BenchmarkDecodePage(b *testing.B) {
	data, err := fressian.Marshal(fresstest.Page(10000))
	if err != nil {
		b.Fatal(err)
	}
	s := blob.EncodeString(data)
	var d fressian.Decoder
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := blob.DecodeString(s)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}

// Compression and base64 alone, for comparison with the JVM harness.
func BenchmarkAppendString(b *testing.B) {
	data, err := fressian.Marshal(fresstest.Page(10000))
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 0, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		body = blob.AppendString(body[:0], data)
	}
}
