package telemetry

import (
	"tally/db"
	"tally/telemetry/value"
)

// LedgerJSON is a ledger entry as `tally ledger` prints it: what left the
// machine, when, and what the endpoint answered.
func LedgerJSON(e db.LedgerEntry) map[string]any {
	out := map[string]any{
		"batch_id": e.BatchID, "first_seq": e.FirstSeq, "last_seq": e.LastSeq, "state": e.State,
		"attempts": e.Attempts, "attempted_at": value.Instant(e.AttemptedAt).String(),
		"accepted_at": nil, "status": nil, "row_count": nil, "byte_size": nil, "sha256": nil, "error": nil,
	}
	if e.AcceptedAt.Valid {
		out["accepted_at"] = value.Instant(e.AcceptedAt.Int64).String()
	}
	for k, v := range map[string]struct {
		ok bool
		v  any
	}{
		"status": {e.Status.Valid, e.Status.Int64}, "row_count": {e.RowCount.Valid, e.RowCount.Int64},
		"byte_size": {e.ByteSize.Valid, e.ByteSize.Int64}, "sha256": {e.SHA256.Valid, e.SHA256.String},
		"error": {e.Error.Valid, e.Error.String},
	} {
		if v.ok {
			out[k] = v.v
		}
	}
	return out
}
