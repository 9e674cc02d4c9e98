package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/server"
	"tally/telemetry/audit"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

const (
	ctTransit = "application/transit+json"
	ctJSON    = "application/json"
)

// t0 is the server's time in every test unless a test moves the clock: a
// fixed instant in the middle of a UTC day, with milliseconds.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535e6, time.UTC)

// clock is a settable clock shared by the server, the logger and the
// database, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.Set(t)
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testConfig is the default config on loopback port 0, with the rate
// limit off (the clock is frozen, so a bucket would never refill).
func testConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Version = "1.2.3-test"
	cfg.Rate = 0
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// testServer is a tally server on loopback with its own SQLite file.
type testServer struct {
	URL    string
	DB     *db.DB
	Clock  *clock
	Server *server.Server
	client *http.Client
}

// startServer opens a fresh database in t.TempDir(), starts the server on
// cfg.Addr (use port 0) with a Logger storing per flags, and stops both at
// cleanup. The server, the logger and the database share a clock set to
// t0.
func startServer(t *testing.T, cfg server.Config, flags audit.Flags) *testServer {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "tally.db"))
	if err != nil {
		t.Fatalf("db.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("db.Close: %v", err)
		}
	})
	clk := newClock(t0)
	d.Now = clk.Now
	logger := &audit.Logger{Store: d, Flags: flags, Now: clk.Now}
	srv, err := server.New(cfg, server.Deps{
		Recorder: logger,
		Flags:    flags,
		Ready:    d,
		Tokens:   d,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      clk.Now,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{URL: "http://" + srv.Addr(), DB: d, Clock: clk, Server: srv, client: client}
}

// request is one HTTP request to a test server.
type request struct {
	method  string // default POST
	path    string
	ctype   string // Content-Type; none when ""
	accept  string
	body    []byte
	header  map[string]string
	chunked bool // hide the length, so the body is sent chunked
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (ts *testServer) do(t *testing.T, r request) response {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body)
		}
	}
	req, err := http.NewRequest(r.method, ts.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", r.method, r.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

const (
	pushPath    = "/api/main/methods/push-audit-events"
	backendPath = "/api/management/methods/push-backend-events"
)

// push sends a frontend events body, transit or JSON by ctype.
func (ts *testServer) push(t *testing.T, ctype string, body []byte, header map[string]string) response {
	t.Helper()
	return ts.do(t, request{path: pushPath, ctype: ctype, body: body, header: header})
}

// mustPush sends a body and fails unless it answers 204.
func (ts *testServer) mustPush(t *testing.T, ctype string, body []byte, header map[string]string) {
	t.Helper()
	if r := ts.push(t, ctype, body, header); r.status != http.StatusNoContent {
		t.Fatalf("push: status %d, want 204; body %s", r.status, r.body)
	}
}

// rows returns every stored row, oldest first.
func (ts *testServer) rows(t *testing.T) []db.Row {
	t.Helper()
	var out []db.Row
	if err := ts.DB.List(context.Background(), db.ListOptions{}, func(r db.Row) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	return out
}

// bySource splits rows by their source.
func bySource(rows []db.Row) map[string][]db.Row {
	m := map[string][]db.Row{}
	for _, r := range rows {
		m[r.Source] = append(m[r.Source], r)
	}
	return m
}

// kmap builds a map from alternating keys and values.
func kmap(kv ...value.Value) *value.Map {
	m := &value.Map{}
	for i := 0; i < len(kv); i += 2 {
		m.Append(kv[i], kv[i+1])
	}
	return m
}

var kw = value.K

// fevent is a frontend event map in the shape Penpot's frontend sends:
// name, type, props, context (when not nil), timestamp and profile-id.
func fevent(name, typ string, props, ctx *value.Map, ts time.Time) *value.Map {
	m := kmap(kw("name"), name, kw("type"), typ, kw("props"), props)
	if ctx != nil {
		m.Append(kw("context"), ctx)
	}
	m.Append(kw("timestamp"), value.InstantOf(ts))
	m.Append(kw("profile-id"), uuid.MustParse("99999999-9999-4999-8999-999999999999"))
	return m
}

// transitBody encodes {:events [events…]} as transit JSON.
func transitBody(t *testing.T, events ...value.Value) []byte {
	t.Helper()
	b, err := transit.Encode(kmap(kw("events"), value.Vector(events)))
	if err != nil {
		t.Fatalf("transit.Encode: %v", err)
	}
	return b
}

// jsonBody encodes v with encoding/json.
func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// simpleEvent is one valid frontend event named name, tracked at t0.
func simpleEvent(name string) *value.Map {
	return fevent(name, "action", kmap(), nil, t0)
}

// errorTypes is the Penpot error type of each code.
var errorTypes = map[string]string{
	"params-validation":       "validation",
	"malformed-body":          "validation",
	"request-body-too-large":  "validation",
	"unsupported-media-type":  "validation",
	"too-many-requests":       "restriction",
	"authentication-required": "authentication",
	"invalid-token":           "authentication",
	"forbidden":               "authorization",
	"object-not-found":        "not-found",
}

// checkError checks an error response: status, content type, and
// Penpot's {type, code, hint} in JSON, or in transit with keyword type
// and code.
func checkError(t *testing.T, r response, status int, code string, inTransit bool) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	typ, ok := errorTypes[code]
	if !ok {
		t.Fatalf("test bug: no type for code %q", code)
	}
	ct := r.header.Get("Content-Type")
	if inTransit {
		if !strings.HasPrefix(ct, ctTransit) {
			t.Fatalf("Content-Type %q, want %s; body %s", ct, ctTransit, r.body)
		}
		v, err := transit.Decode(r.body)
		if err != nil {
			t.Fatalf("error body %s is not transit: %v", r.body, err)
		}
		m, ok := v.(*value.Map)
		if !ok {
			t.Fatalf("error body %s is not a map", r.body)
		}
		if got, _ := m.GetKW("type"); got != kw(typ) {
			t.Errorf("type = %#v, want keyword :%s", got, typ)
		}
		if got, _ := m.GetKW("code"); got != kw(code) {
			t.Errorf("code = %#v, want keyword :%s", got, code)
		}
		if hint, _ := m.GetKW("hint"); hint == nil || hint == "" {
			t.Errorf("hint = %#v, want a non-empty string", hint)
		}
		if !strings.HasPrefix(string(r.body), `["^ ","~:type","~:`+typ+`","~:code","~:`+code+`","~:hint",`) {
			t.Errorf("transit error body = %s, want Penpot's [\"^ \",\"~:type\",…] shape", r.body)
		}
		return
	}
	if !strings.HasPrefix(ct, ctJSON) {
		t.Fatalf("Content-Type %q, want %s; body %s", ct, ctJSON, r.body)
	}
	var e map[string]any
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %s is not JSON: %v", r.body, err)
	}
	if got, want := e["type"], typ; got != want {
		t.Errorf("type = %v, want %v", got, want)
	}
	if got, want := e["code"], code; got != want {
		t.Errorf("code = %v, want %v", got, want)
	}
	if hint, _ := e["hint"].(string); hint == "" {
		t.Errorf("hint = %v, want a non-empty string", e["hint"])
	}
}

// verbose is the JSON-verbose text of a map, as tally stores it.
func verbose(t *testing.T, m *value.Map) string {
	t.Helper()
	if m.Len() == 0 {
		return "{}"
	}
	b, err := transit.EncodeVerbose(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ms is t in epoch milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }
