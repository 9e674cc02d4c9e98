package collect

import (
	"bytes"
	"encoding/json"
	"fmt"

	"tally/db"
	"tally/telemetry/blob"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// ReceivedJSON renders a received event for `tally received`: batch_id,
// instance_id, received_at, then the event's fields, with props and
// context as plain JSON and times as RFC 3339 UTC with milliseconds.
func ReceivedJSON(e db.ReceivedEvent) ([]byte, error) {
	props, err := transit.PlainJSON([]byte(e.Props))
	if err != nil {
		return nil, err
	}
	ctx, err := transit.PlainJSON([]byte(e.Context))
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		BatchID    string          `json:"batch_id"`
		InstanceID string          `json:"instance_id"`
		ReceivedAt string          `json:"received_at"`
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Source     string          `json:"source"`
		TrackedAt  string          `json:"tracked_at"`
		ProfileID  string          `json:"profile_id"`
		Props      json.RawMessage `json:"props"`
		Context    json.RawMessage `json:"context"`
	}{e.BatchID, e.InstanceID, value.Instant(e.ReceivedAt).String(), e.Name, e.Type, e.Source,
		value.Instant(e.TrackedAt).String(), e.ProfileID.String(), props, ctx})
}

// ReportJSON renders a received instance report.
func ReportJSON(r db.ReceivedReport) ([]byte, error) {
	return json.Marshal(struct {
		Type       string          `json:"type"`
		InstanceID string          `json:"instance_id"`
		Version    string          `json:"version"`
		ReceivedAt string          `json:"received_at"`
		Stats      json.RawMessage `json:"stats"`
	}{"telemetry-legacy-report", r.InstanceID, r.Version, value.Instant(r.ReceivedAt).String(), json.RawMessage(r.Stats)})
}

// Decode renders what an operator captured as readable JSON (`tally
// decode`): a blob string becomes its decoded value; a whole
// telemetry-events body becomes that body with events replaced by the
// decoded array. Any other JSON body is returned unchanged (compacted).
func Decode(input []byte) ([]byte, error) {
	in := bytes.TrimSpace(input)
	if len(in) > 0 && in[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(in, &obj); err != nil {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		raw, ok := obj["events"]
		if !ok {
			var out bytes.Buffer
			err := json.Compact(&out, in)
			return out.Bytes(), err
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("events is not a blob string: %w", err)
		}
		v, err := blob.DecodeValue(s)
		if err != nil {
			return nil, err
		}
		ev, err := value.ToJSON(v)
		if err != nil {
			return nil, err
		}
		// Keep the body's keys in their order, with events replaced.
		return replaceKey(in, "events", ev)
	}
	if len(in) > 0 && in[0] == '"' {
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, err
		}
		in = []byte(s)
	}
	v, err := blob.DecodeValue(string(in))
	if err != nil {
		return nil, err
	}
	return value.ToJSON(v)
}

// replaceKey rewrites the top-level object obj with key's value replaced
// by val, keeping key order.
func replaceKey(obj []byte, key string, val []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	out := []byte{'{'}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		kb, _ := json.Marshal(k)
		out = append(out, kb...)
		out = append(out, ':')
		if k == key {
			out = append(out, val...)
			continue
		}
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			return nil, err
		}
		out = append(out, c.Bytes()...)
	}
	return append(out, '}'), nil
}
