package telemetry

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/blob"
	"tally/telemetry/fressian"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// pageEncoder turns a page of telemetry rows into a telemetry-events
// request body in one pass: rows are streamed into one fressian encoder
// (no value tree of the page is built), the fressian bytes are compressed
// and base64-encoded straight into the body buffer. Both buffers are kept
// between pages. Not safe for concurrent use (a run holds the run lock).
type pageEncoder struct {
	fress fressian.Encoder
	body  []byte
	flat  []flatEntry // scratch of the flat-map fast path
}

// encode returns the body for rows; it is valid until the next call.
func (p *pageEncoder) encode(version string, instance uuid.UUID, rows []db.Row) ([]byte, error) {
	f := &p.fress
	f.Reset()
	if err := p.writeEvents(f, rows); err != nil {
		return nil, err
	}
	b := append(p.body[:0], `{"type":"telemetry-events","version":`...)
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	b = append(b, v...)
	b = append(b, `,"instance-id":"`...)
	b = append(b, instance.String()...)
	b = append(b, `","events":"`...)
	b = blob.AppendString(b, f.Bytes())
	b = append(b, `"}`...)
	p.body = b
	return b, nil
}

// writeEvents writes rows as Penpot's batch: a vector of maps with the
// keys :name :type :source :tracked-at :profile-id :props :context, in
// that order.
func (p *pageEncoder) writeEvents(f *fressian.Encoder, rows []db.Row) error {
	f.BeginVector(len(rows))
	for i := range rows {
		r := &rows[i]
		f.BeginMap()
		f.WriteKeywordKey("", "name")
		f.WriteString(r.Name)
		f.WriteKeywordKey("", "type")
		f.WriteString(r.Type)
		f.WriteKeywordKey("", "source")
		f.WriteString(r.Source)
		f.WriteKeywordKey("", "tracked-at")
		f.WriteInstant(value.Instant(r.TrackedAt))
		f.WriteKeywordKey("", "profile-id")
		f.WriteUUID(r.ProfileID)
		if err := p.writeStoredMap(f, "props", r.Props); err != nil {
			return fmt.Errorf("row %d: %w", r.Seq, err)
		}
		if err := p.writeStoredMap(f, "context", r.Context); err != nil {
			return fmt.Errorf("row %d: %w", r.Seq, err)
		}
		f.EndMap()
	}
	return nil
}

// writeStoredMap writes the key and the map stored as transit
// JSON-verbose text; "{}" (every telemetry row's props) skips decoding,
// and a flat map of scalars (every telemetry row's context) is written
// straight from the text (see flatMap).
func (p *pageEncoder) writeStoredMap(f *fressian.Encoder, key, stored string) error {
	f.WriteKeywordKey("", key)
	if stored == "{}" {
		f.BeginMap()
		f.EndMap()
		return nil
	}
	var ok bool
	if p.flat, ok = flatMap(stored, p.flat); ok {
		writeFlat(f, p.flat)
		return nil
	}
	v, err := transit.Decode([]byte(stored))
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if _, ok := v.(*value.Map); !ok {
		return fmt.Errorf("%s: stored value is %T, not a map", key, v)
	}
	return f.WriteValue(v)
}
