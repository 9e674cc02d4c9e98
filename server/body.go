package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"tally/telemetry/audit"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// readBody reads and decodes a transit or JSON request body within the
// size limit.
func (s *Server) readBody(c echo.Context) (value.Value, error) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != mimeTransit && mt != mimeJSON) {
		return nil, errorf("unsupported-media-type", "send %s or %s", mimeTransit, mimeJSON)
	}
	if r.ContentLength > s.cfg.MaxBody {
		return nil, errorf("request-body-too-large", "the body is %d bytes, at most %d allowed", r.ContentLength, s.cfg.MaxBody)
	}
	bp := bodyBufs.Get().(*[]byte)
	defer putBodyBuf(bp)
	data, err := readAll((*bp)[:0], http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxBody), r.ContentLength)
	*bp = data
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf("request-body-too-large", "the body is over %d bytes", s.cfg.MaxBody)
		}
		return nil, errorf("malformed-body", "reading the body: %v", err)
	}
	var v value.Value
	if mt == mimeTransit {
		v, err = transit.Decode(data)
	} else {
		v, err = transit.DecodeJSON(data)
	}
	if err != nil {
		return nil, errorf("malformed-body", "the body is not valid %s: %v", mt, err)
	}
	return v, nil
}

// bodyBufs recycles request-body buffers: the decoders copy what they
// keep, so a body's bytes are free again once it is decoded.
var bodyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 4 << 20

func putBodyBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBody {
		*bp = (*bp)[:0]
		bodyBufs.Put(bp)
	}
}

// readAll appends everything r holds to buf, growing it once to hint (the
// declared length) when that is known, instead of doubling from 512 bytes
// as io.ReadAll does.
func readAll(buf []byte, r io.Reader, hint int64) ([]byte, error) {
	if hint > 0 && int64(cap(buf)) < hint+1 {
		buf = make([]byte, 0, hint+1) // +1: room to see io.EOF without growing
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// readEvents reads a request body and returns its event maps.
func (s *Server) readEvents(c echo.Context) ([]*value.Map, error) {
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	return s.eventMaps(body)
}

// eventMaps returns the maps under :events of a body, checking the shape
// and the per-request limit.
func (s *Server) eventMaps(body value.Value) ([]*value.Map, error) {
	m, ok := body.(*value.Map)
	if !ok {
		return nil, errorf("params-validation", "the body must be a map with an events list")
	}
	ev, ok := m.GetKW("events")
	if !ok {
		return nil, errorf("params-validation", "events is missing")
	}
	var list []value.Value
	switch x := ev.(type) {
	case value.Vector:
		list = x
	case value.List:
		list = x
	default:
		return nil, errorf("params-validation", "events must be a list")
	}
	if len(list) > s.cfg.MaxEvents {
		return nil, errorf("params-validation", "%d events in one request, at most %d allowed", len(list), s.cfg.MaxEvents)
	}
	out := make([]*value.Map, len(list))
	for i, x := range list {
		em, ok := x.(*value.Map)
		if !ok {
			return nil, errorf("params-validation", "events[%d] must be a map", i)
		}
		out[i] = em
	}
	return out, nil
}

// field helpers: each returns a params-validation error naming the event
// and the key.

func stringField(m *value.Map, i int, key string, required bool) (string, bool, error) {
	v, ok := m.GetKW(key)
	if !ok || v == nil {
		if required {
			return "", false, errorf("params-validation", "events[%d].%s is missing", i, key)
		}
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, errorf("params-validation", "events[%d].%s must be a string", i, key)
	}
	return s, true, nil
}

func mapField(m *value.Map, i int, key string, required bool) (*value.Map, error) {
	v, ok := m.GetKW(key)
	if !ok || v == nil {
		if required {
			return nil, errorf("params-validation", "events[%d].%s is missing", i, key)
		}
		return &value.Map{}, nil
	}
	mm, ok := v.(*value.Map)
	if !ok {
		return nil, errorf("params-validation", "events[%d].%s must be a map", i, key)
	}
	return mm, nil
}

// The instants accepted: 1970-01-01 to 9999-12-31, UTC.
const (
	minInstant = 0
	maxInstant = 253402300799999
)

// instantField reads an instant: a transit instant, epoch milliseconds, or
// an RFC 3339 string.
func instantField(m *value.Map, i int, key string, required bool) (time.Time, bool, error) {
	v, ok := m.GetKW(key)
	if !ok || v == nil {
		if required {
			return time.Time{}, false, errorf("params-validation", "events[%d].%s is missing", i, key)
		}
		return time.Time{}, false, nil
	}
	var ms int64
	ok = false
	switch x := v.(type) {
	case value.Instant:
		ms, ok = int64(x), true
	case int64:
		ms, ok = x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		ms, ok = t.UnixMilli(), err == nil
	}
	if !ok {
		return time.Time{}, false, errorf("params-validation", "events[%d].%s must be an instant (RFC 3339 or epoch ms)", i, key)
	}
	if ms < minInstant || ms > maxInstant {
		return time.Time{}, false, errorf("params-validation", "events[%d].%s is outside the years 1970 to 9999", i, key)
	}
	return time.UnixMilli(ms).UTC(), true, nil
}

// nameAndType reads and checks an event's name and type.
func nameAndType(m *value.Map, i int) (name, typ string, err error) {
	if name, _, err = stringField(m, i, "name", true); err != nil {
		return "", "", err
	}
	if err := audit.ValidateName(name); err != nil {
		return "", "", errorf("params-validation", "events[%d]: %v", i, err)
	}
	if typ, _, err = stringField(m, i, "type", true); err != nil {
		return "", "", err
	}
	if err := audit.ValidateType(typ); err != nil {
		return "", "", errorf("params-validation", "events[%d]: %v", i, err)
	}
	return name, typ, nil
}

// record stores a validated request's events and answers 204.
func (s *Server) record(c echo.Context, events []audit.Event) error {
	if err := s.deps.Recorder.Record(c.Request().Context(), events); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
