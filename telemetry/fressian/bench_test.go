package fressian_test

import (
	"testing"

	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
)

// Benchmarks over the SPEC section 5 page of 10,000 events; SetBytes is
// the fressian size, so MB/s is fressian bytes per second.

func BenchmarkStreamPage(b *testing.B) {
	page := fresstest.Page(10000)
	e := fressian.NewEncoder(2 << 20)
	streamPage(e, page)
	b.SetBytes(int64(e.Len()))
	b.ReportAllocs()
	for b.Loop() {
		streamPage(e, page)
	}
}

func BenchmarkMarshalPage(b *testing.B) {
	page := fresstest.Page(10000)
	e := fressian.NewEncoder(2 << 20)
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		if err := e.WriteValue(page); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(e.Len()))
}

func BenchmarkUnmarshalPage(b *testing.B) {
	data, err := fressian.Marshal(fresstest.Page(10000))
	if err != nil {
		b.Fatal(err)
	}
	var d fressian.Decoder
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
