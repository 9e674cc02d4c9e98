package telemetry

import (
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/loadtest"
)

// The ship path's encoder on the JVM harness's 10,000-event page, from
// stored rows (context as transit JSON-verbose text) to the request body:
// the work behind `tally bench`'s encode_page_ms.
func BenchmarkPageEncoder(b *testing.B) {
	rows, err := loadtest.PageRows(10000)
	if err != nil {
		b.Fatal(err)
	}
	var p pageEncoder
	instance := uuid.New()
	body, err := p.encode("2.4.3", instance, rows) // warm buffers and zstd
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if body, err = p.encode("2.4.3", instance, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(body)), "body-bytes")
}
