package audit

import (
	"encoding/json"
	"fmt"

	"tally/db"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// RowJSON renders a stored row as one JSON object for `tally events`: the
// column names of audit_log without seq, props and context decoded to
// plain JSON, times as RFC 3339 UTC with milliseconds (archived_at null
// until archived).
func RowJSON(r db.Row) ([]byte, error) {
	props, err := transit.PlainJSON([]byte(r.Props))
	if err != nil {
		return nil, fmt.Errorf("row %d props: %w", r.Seq, err)
	}
	ctx, err := transit.PlainJSON([]byte(r.Context))
	if err != nil {
		return nil, fmt.Errorf("row %d context: %w", r.Seq, err)
	}
	var archived *string
	if r.ArchivedAt.Valid {
		s := value.Instant(r.ArchivedAt.Int64).String()
		archived = &s
	}
	return json.Marshal(struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Type       string          `json:"type"`
		Source     string          `json:"source"`
		ProfileID  string          `json:"profile_id"`
		IPAddr     string          `json:"ip_addr"`
		Props      json.RawMessage `json:"props"`
		Context    json.RawMessage `json:"context"`
		TrackedAt  string          `json:"tracked_at"`
		CreatedAt  string          `json:"created_at"`
		ArchivedAt *string         `json:"archived_at"`
	}{r.ID.String(), r.Name, r.Type, r.Source, r.ProfileID.String(), r.IPAddr, props, ctx,
		value.Instant(r.TrackedAt).String(), value.Instant(r.CreatedAt).String(), archived})
}
