package server

import (
	"os"
	"path/filepath"
	"testing"

	"tally/telemetry/transit"
)

// FuzzParseEvents feeds arbitrary bodies through the ingest parsing path
// (transit or JSON decode, the events shape, each event's fields for both
// routes): it must never panic, and whatever it accepts must be a valid
// event.
func FuzzParseEvents(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "transit", "push-*.transit"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
			f.Add(b, true)
		}
	}
	f.Add([]byte(`{"events":[{"name":"a","type":"action","props":{},"timestamp":1700000000000}]}`), false)
	f.Add([]byte(`{"events":[{"name":"a","type":"trigger","profileId":"1b3c4d5e-0000-4000-8000-000000000001","ipAddr":"::1"}]}`), false)
	f.Add([]byte(`["^ ","~:events",[["^ ","~:name","x","~:type","identify","~:props",["^ "],"~:timestamp","~m1"]]]`), true)
	s := &Server{cfg: DefaultConfig()}
	f.Fuzz(func(t *testing.T, body []byte, isTransit bool) {
		var err error
		var v any
		if isTransit {
			v, err = transit.Decode(body)
		} else {
			v, err = transit.DecodeJSON(body)
		}
		if err != nil {
			return
		}
		maps, err := s.eventMaps(v)
		if err != nil {
			return
		}
		for i, m := range maps {
			if e, err := frontendEvent(m, i); err == nil {
				if e.Name == "" || e.Props == nil || e.Context == nil || e.TrackedAt.IsZero() {
					t.Fatalf("accepted a frontend event without its fields: %+v", e)
				}
			}
			if e, err := backendEvent(m, i); err == nil {
				if e.Name == "" || e.Props == nil || e.Context == nil || e.IPAddr == "" {
					t.Fatalf("accepted a backend event without its fields: %+v", e)
				}
			}
		}
	})
}
