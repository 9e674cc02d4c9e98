package fresstest

import (
	"github.com/google/uuid"

	"tally/telemetry/value"
)

// EventWriter is the part of *fressian.Encoder that StreamPage uses.
type EventWriter interface {
	BeginVector(n int)
	BeginMap()
	EndMap()
	WriteKeywordKey(ns, name string)
	WriteString(s string)
	WriteInstant(t value.Instant)
	WriteUUID(u uuid.UUID)
	WriteValue(v value.Value) error
}

// StreamPage writes a page of events (as Page builds them) with the
// low-level encoder calls, the way the ship path streams rows without
// building the page as one value.
func StreamPage(w EventWriter, page value.Vector) error {
	w.BeginVector(len(page))
	for _, ev := range page {
		m := ev.(*value.Map)
		get := func(i int) value.Value { return m.Entries[i].Val }
		w.BeginMap()
		w.WriteKeywordKey("", "name")
		w.WriteString(get(0).(string))
		w.WriteKeywordKey("", "type")
		w.WriteString(get(1).(string))
		w.WriteKeywordKey("", "source")
		w.WriteString(get(2).(string))
		w.WriteKeywordKey("", "tracked-at")
		w.WriteInstant(get(3).(value.Instant))
		w.WriteKeywordKey("", "profile-id")
		w.WriteUUID(get(4).(uuid.UUID))
		w.WriteKeywordKey("", "props")
		if err := w.WriteValue(get(5)); err != nil {
			return err
		}
		w.WriteKeywordKey("", "context")
		if err := w.WriteValue(get(6)); err != nil {
			return err
		}
		w.EndMap()
	}
	return nil
}
