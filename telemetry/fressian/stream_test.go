package fressian_test

import (
	"github.com/google/uuid"

	"tally/telemetry/fressian"
	"tally/telemetry/value"
)

// streamPage writes a page of events with the low-level Encoder methods,
// the way the ship path streams rows without building a value tree.
func streamPage(e *fressian.Encoder, page value.Vector) {
	e.Reset()
	e.BeginVector(len(page))
	for _, ev := range page {
		m := ev.(*value.Map)
		get := func(k string) value.Value { v, _ := m.GetKW(k); return v }
		e.BeginMap()
		e.WriteKeywordKey("", "name")
		e.WriteString(get("name").(string))
		e.WriteKeywordKey("", "type")
		e.WriteString(get("type").(string))
		e.WriteKeywordKey("", "source")
		e.WriteString(get("source").(string))
		e.WriteKeywordKey("", "tracked-at")
		e.WriteInstant(get("tracked-at").(value.Instant))
		e.WriteKeywordKey("", "profile-id")
		e.WriteUUID(get("profile-id").(uuid.UUID))
		e.WriteKeywordKey("", "props")
		if err := e.WriteValue(get("props")); err != nil {
			panic(err)
		}
		e.WriteKeywordKey("", "context")
		if err := e.WriteValue(get("context")); err != nil {
			panic(err)
		}
		e.EndMap()
	}
}
