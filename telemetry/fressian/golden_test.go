package fressian_test

import (
	"bytes"
	"fmt"
	"testing"

	"tally/telemetry/blob"
	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

// firstDiff describes where two byte strings part.
func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			lo, hi := max(i-8, 0), min(i+8, n)
			return fmt.Sprintf("first difference at byte %d of %d/%d: got % x, want % x", i, len(got), len(want), got[lo:min(hi, len(got))], want[lo:min(hi, len(want))])
		}
	}
	return fmt.Sprintf("lengths differ: got %d, want %d", len(got), len(want))
}

// TestGoldenFixtures reads every value the Java writer produced, checks it
// against the JVM's own reading of it, and checks that the Go writer
// produces the very same bytes for it.
func TestGoldenFixtures(t *testing.T) {
	for _, f := range fresstest.Fixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			payload, err := blob.DecodeString(f.Blob)
			if err != nil {
				t.Fatalf("blob.DecodeString: %v", err)
			}
			if f.Fress != nil && !bytes.Equal(payload, f.Fress) {
				t.Fatalf("blob payload differs from .fress: %s", firstDiff(payload, f.Fress))
			}
			v, err := fressian.Unmarshal(payload)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if got, want := fresstest.Expected(fresstest.Canon(v)), f.Expected; got != want {
				t.Errorf("decoded value:\n got %.2000s\nwant %.2000s", got, want)
			}
			got, err := fressian.Marshal(v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if f.Name == "floats" {
				// The model widens floats to float64, so Go writes doubles
				// where Java wrote floats; the values still agree.
				back, err := fressian.Unmarshal(got)
				if err != nil || !value.Equal(back, v) {
					t.Errorf("floats re-encoded as doubles read back as %v, %v", back, err)
				}
				return
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("Go writer bytes differ from Java writer bytes: %s", firstDiff(got, payload))
			}
		})
	}
}

// TestGoldenEventPages builds the SPEC section 5 pages in Go, as the
// ship path does, and compares them with the JVM's.
func TestGoldenEventPages(t *testing.T) {
	byName := map[string]fresstest.Fixture{}
	for _, f := range fresstest.Fixtures(t) {
		byName[f.Name] = f
	}
	for name, n := range map[string]int{"event-page-small": 3, "event-page": 10000} {
		t.Run(name, func(t *testing.T) {
			f, ok := byName[name]
			if !ok {
				t.Fatalf("fixture %s missing", name)
			}
			page := fresstest.Page(n)
			if got, want := fresstest.Expected(fresstest.Canon(page)), f.Expected; got != want {
				t.Errorf("Go page differs from the JVM page:\n got %.500s\nwant %.500s", got, want)
			}
			payload, err := blob.DecodeString(f.Blob)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fressian.Marshal(page)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("Marshal(page): %s", firstDiff(got, payload))
			}
			var e fressian.Encoder
			streamPage(&e, page)
			if !bytes.Equal(e.Bytes(), payload) {
				t.Errorf("streamed page: %s", firstDiff(e.Bytes(), payload))
			}
			back, err := fressian.Unmarshal(payload)
			if err != nil {
				t.Fatal(err)
			}
			if !value.Equal(back, page) {
				t.Errorf("decoded page differs from the Go page")
			}
		})
	}
}
