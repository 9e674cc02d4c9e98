package transit

import (
	"os"
	"path/filepath"
	"testing"

	"tally/telemetry/value"
)

func readFixture(b *testing.B, name string) []byte {
	body, err := os.ReadFile(filepath.Join(fixtureDir, name+".transit"))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkDecodePush100 decodes a realistic 100-event push-audit-events
// body as Penpot's frontend writes it.
func BenchmarkDecodePush100(b *testing.B) {
	body := readFixture(b, "push-100")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSONPush100 decodes the same events sent as plain JSON.
func BenchmarkDecodeJSONPush100(b *testing.B) {
	v, err := Decode(readFixture(b, "push-100"))
	if err != nil {
		b.Fatal(err)
	}
	body, err := value.ToJSON(v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePush100 writes the 100-event body back as normal transit.
func BenchmarkEncodePush100(b *testing.B) {
	v, err := Decode(readFixture(b, "push-100"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

// typicalProps is the props map of a workspace event.
var typicalProps = kmap(
	value.K("file-id"), testUUID,
	value.K("team-id"), testUUID,
	value.K("page-id"), testUUID,
	value.K("route-id"), "workspace",
	value.K("type"), "rect",
	value.K("count"), int64(12),
	value.K("origin"), "workspace:context-menu",
	value.K("at"), value.Instant(1717243200123),
)

// BenchmarkEncodeVerboseProps writes a typical props map in the storage
// form.
func BenchmarkEncodeVerboseProps(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeVerbose(typicalProps); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendVerboseProps is the store's path: the same into a
// reused buffer.
func BenchmarkAppendVerboseProps(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = AppendVerbose(buf[:0], typicalProps); err != nil {
			b.Fatal(err)
		}
	}
}
