package telemetry

import (
	"github.com/google/uuid"

	"tally/db"
)

// PageEncoder turns pages of telemetry rows into telemetry-events request
// bodies exactly as the task does (one pass, buffers kept between
// pages); `tally bench` times it. Not safe for concurrent use.
type PageEncoder struct{ enc pageEncoder }

// Encode returns the request body for rows, valid until the next call.
func (p *PageEncoder) Encode(version string, instance uuid.UUID, rows []db.Row) ([]byte, error) {
	return p.enc.encode(version, instance, rows)
}
