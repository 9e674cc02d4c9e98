// Package collect is the receiving side of tally's telemetry: an HTTP
// handler that accepts what Penpot's telemetry task (and tally's) POSTs —
// telemetry-events pages and telemetry-legacy-report bodies — decodes
// them, and stores what it got in the collector tables of a tally
// database. `tally collect` serves it alone; `tally serve` mounts it at
// /collect/, the default telemetry URI.
package collect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/blob"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// DefaultMaxBody is the largest request body the collector reads.
const DefaultMaxBody = 64 << 20

// MaxPage is the largest uncompressed fressian page the collector
// decodes: a 10,000-event page is about 1.5 MB, so this leaves room for
// pages 40 times larger while bounding what one small, highly compressed
// body can make the collector allocate.
const MaxPage = 64 << 20

// pages decodes blob strings for every collector in the process.
var pages = blob.NewDecoder(MaxPage)

// BatchIDHeader is the header a tally sender puts its page's batch id in.
const BatchIDHeader = "X-Tally-Batch-Id"

// Handler is the collector. Its zero value is not usable: set DB.
type Handler struct {
	DB      *db.DB
	Log     *slog.Logger
	MaxBody int64 // 0: DefaultMaxBody
	// Keep, when positive, bounds the received events kept: after each
	// stored page the oldest pages are deleted until at most Keep events
	// remain. serve's embedded collector sets it so that the default
	// offline pipeline does not grow without end.
	Keep int64
}

// body is a telemetry request body: either kind.
type body struct {
	Type       string          `json:"type"`
	Version    string          `json:"version"`
	InstanceID string          `json:"instance-id"`
	Events     *string         `json:"events"`
	Stats      json.RawMessage `json:"stats"`
}

// ServeHTTP answers POST / with 204 once the body is stored, 400 with the
// reason when it cannot be decoded.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "" {
		http.Error(w, "not found: the collector answers POST /", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST a telemetry body", http.StatusMethodNotAllowed)
		return
	}
	max := h.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("body over %d bytes", max), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	dup, err := h.Store(r.Context(), data, r.Header.Get(BatchIDHeader))
	var bad *BadBodyError
	switch {
	case errors.As(err, &bad):
		h.log().Warn("collector rejected a body", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		h.log().Error("collector could not store a body", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if dup {
		h.log().Info("collector dropped a re-sent page", "batch_id", r.Header.Get(BatchIDHeader))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// BadBodyError is a body the collector cannot decode.
type BadBodyError struct{ Reason string }

func (e *BadBodyError) Error() string { return e.Reason }

func bad(format string, args ...any) error {
	return &BadBodyError{Reason: fmt.Sprintf(format, args...)}
}

// Store decodes a body and stores it. A page is deduplicated on batchID,
// or, when the sender gave none, on a hash of its events blob; dup says
// the page was stored before.
func (h *Handler) Store(ctx context.Context, data []byte, batchID string) (dup bool, err error) {
	var b body
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&b); err != nil {
		return false, bad("body is not a JSON object: %v", err)
	}
	if _, err := uuid.Parse(b.InstanceID); err != nil {
		return false, bad("instance-id %q is not a uuid", b.InstanceID)
	}
	switch b.Type {
	case "telemetry-events":
		if b.Events == nil {
			return false, bad("telemetry-events body has no events")
		}
		events, err := DecodeEvents(*b.Events)
		if err != nil {
			return false, err
		}
		if batchID == "" {
			// Identical pages from two instances are two pages.
			sum := sha256.Sum256([]byte(b.InstanceID + "\n" + *b.Events))
			batchID = "sha256:" + hex.EncodeToString(sum[:])
		}
		for i := range events {
			events[i].BatchID, events[i].InstanceID = batchID, b.InstanceID
		}
		dup, err := h.DB.StoreBatch(ctx, db.ReceivedBatch{BatchID: batchID, InstanceID: b.InstanceID,
			Version: b.Version, EventCount: len(events)}, events)
		if err == nil && !dup && h.Keep > 0 {
			if n, perr := h.DB.PruneReceived(ctx, h.Keep); perr != nil {
				h.log().Error("pruning received pages", "err", perr)
			} else if n > 0 {
				h.log().Info("pruned the oldest received pages", "pages", n, "keep_events", h.Keep)
			}
		}
		return dup, err
	case "telemetry-legacy-report":
		var stats map[string]any
		if err := json.Unmarshal(b.Stats, &stats); err != nil || stats == nil {
			return false, bad("telemetry-legacy-report body needs a stats object")
		}
		return false, h.DB.StoreReport(ctx, b.InstanceID, b.Version, b.Stats)
	}
	return false, bad("unknown body type %q: want telemetry-events or telemetry-legacy-report", b.Type)
}

// DecodeEvents decodes a blob string into the events of a page, checking
// each has Penpot's shape.
func DecodeEvents(s string) ([]db.ReceivedEvent, error) {
	v, err := pages.DecodeValue(s)
	if err != nil {
		return nil, bad("events blob: %v", err)
	}
	vec, ok := v.(value.Vector)
	if !ok {
		return nil, bad("events blob holds %T, want a vector of event maps", v)
	}
	out := make([]db.ReceivedEvent, len(vec))
	var buf []byte
	for i, x := range vec {
		m, ok := x.(*value.Map)
		if !ok {
			return nil, bad("event %d is %T, want a map", i, x)
		}
		e := &out[i]
		var okName, okType, okSource bool
		e.Name, okName = str(m, "name")
		e.Type, okType = str(m, "type")
		e.Source, okSource = str(m, "source")
		if !okName || !okType || !okSource {
			return nil, bad("event %d needs string :name, :type and :source", i)
		}
		at, _ := m.GetKW("tracked-at")
		inst, ok := at.(value.Instant)
		if !ok {
			return nil, bad("event %d: :tracked-at is %T, want an instant", i, at)
		}
		e.TrackedAt = int64(inst)
		p, _ := m.GetKW("profile-id")
		if e.ProfileID, ok = p.(uuid.UUID); !ok && p != nil {
			return nil, bad("event %d: :profile-id is %T, want a uuid", i, p)
		}
		if e.Props, buf, err = mapText(m, "props", buf); err != nil {
			return nil, bad("event %d: %v", i, err)
		}
		if e.Context, buf, err = mapText(m, "context", buf); err != nil {
			return nil, bad("event %d: %v", i, err)
		}
	}
	return out, nil
}

func str(m *value.Map, key string) (string, bool) {
	v, _ := m.GetKW(key)
	s, ok := v.(string)
	return s, ok
}

// mapText renders the map under key as transit JSON-verbose text ("{}"
// when absent).
func mapText(m *value.Map, key string, buf []byte) (string, []byte, error) {
	v, ok := m.GetKW(key)
	if !ok || v == nil {
		return "{}", buf, nil
	}
	mm, ok := v.(*value.Map)
	if !ok {
		return "", buf, fmt.Errorf(":%s is %T, want a map", key, v)
	}
	if mm.Len() == 0 {
		return "{}", buf, nil
	}
	buf, err := transit.AppendVerbose(buf[:0], mm)
	if err != nil {
		return "", buf, err
	}
	return string(buf), buf, nil
}
