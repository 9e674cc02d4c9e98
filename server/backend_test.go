package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/audit"
	"tally/telemetry/value"
)

const sharedKey = "k3y-s3cret"

// backendServer starts a server with a shared key, storing audit-log rows
// only.
func backendServer(t *testing.T) *testServer {
	t.Helper()
	cfg := testConfig()
	cfg.SharedKey = sharedKey
	return startServer(t, cfg, audit.Flags{AuditLog: true})
}

// pushBackend sends a backend events body with the given headers; a nil
// header map sends the shared key as "tally <key>".
func (ts *testServer) pushBackend(t *testing.T, ctype string, body []byte, header map[string]string) response {
	t.Helper()
	if header == nil {
		header = map[string]string{"X-Shared-Key": "tally " + sharedKey}
	}
	return ts.do(t, request{path: backendPath, ctype: ctype, body: body, header: header})
}

func bevent(kv ...value.Value) *value.Map {
	return kmap(append([]value.Value{kw("name"), "login", kw("type"), "action"}, kv...)...)
}

func TestBackendNoSharedKey(t *testing.T) {
	ts := startServer(t, testConfig(), audit.Flags{AuditLog: true})
	for _, key := range []string{"", "tally x", "x"} {
		r := ts.pushBackend(t, ctTransit, transitBody(t, bevent()), map[string]string{"X-Shared-Key": key})
		checkError(t, r, http.StatusNotFound, "object-not-found", true)
	}
	if n := len(ts.rows(t)); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
}

func TestBackendSharedKey(t *testing.T) {
	ts := backendServer(t)
	body := transitBody(t, bevent())
	for _, tt := range []struct {
		name      string
		header    string
		status    int
		initiator string
	}{
		{"missing", "", http.StatusForbidden, ""},
		{"wrong bare", "nope", http.StatusForbidden, ""},
		{"wrong with id", "tally nope", http.StatusForbidden, ""},
		{"key as id", sharedKey + " nope", http.StatusForbidden, ""},
		{"prefix of the key", sharedKey[:4], http.StatusForbidden, ""},
		{"id and key", "tally " + sharedKey, http.StatusNoContent, "tally"},
		{"other id and key", "exporter " + sharedKey, http.StatusNoContent, "exporter"},
		{"bare key", sharedKey, http.StatusNoContent, "app"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ts.rows(t))
			hdr := map[string]string{}
			if tt.header != "" {
				hdr["X-Shared-Key"] = tt.header
			}
			r := ts.pushBackend(t, ctTransit, body, hdr)
			rows := ts.rows(t)[before:]
			if tt.status != http.StatusNoContent {
				checkError(t, r, tt.status, "forbidden", true)
				if len(rows) != 0 {
					t.Fatalf("%d rows stored", len(rows))
				}
				return
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			ctx := decodeStored(t, rows[0].Context)
			if got, _ := ctx.GetKW("initiator"); got != tt.initiator {
				t.Errorf("initiator = %v, want %q", got, tt.initiator)
			}
		})
	}
	// JSON clients get JSON errors.
	r := ts.pushBackend(t, ctJSON, []byte(`{"events":[]}`), map[string]string{"X-Shared-Key": "nope"})
	checkError(t, r, http.StatusForbidden, "forbidden", false)
}

// TestBackendSharedKeyWithSpace: a configured key holding a space is
// accepted bare and after a key id.
func TestBackendSharedKeyWithSpace(t *testing.T) {
	cfg := testConfig()
	cfg.SharedKey = "two words"
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	body := transitBody(t, bevent())
	for _, tt := range []struct{ header, initiator string }{
		{"two words", "app"},
		{"tally two words", "tally"},
	} {
		before := len(ts.rows(t))
		r := ts.pushBackend(t, ctTransit, body, map[string]string{"X-Shared-Key": tt.header})
		if r.status != http.StatusNoContent {
			t.Fatalf("x-shared-key %q: status %d, body %s", tt.header, r.status, r.body)
		}
		ctx := decodeStored(t, ts.rows(t)[before].Context)
		if got, _ := ctx.GetKW("initiator"); got != tt.initiator {
			t.Errorf("x-shared-key %q: initiator = %v, want %q", tt.header, got, tt.initiator)
		}
	}
	for _, bad := range []string{"two", "words", "tally two", "two words extra"} {
		r := ts.pushBackend(t, ctTransit, body, map[string]string{"X-Shared-Key": bad})
		checkError(t, r, http.StatusForbidden, "forbidden", true)
	}
}

// TestBackendRows: the body's profile-id, ip-addr and tracked-at are
// trusted; no ip-addr is 0.0.0.0; props are cleaned.
func TestBackendRows(t *testing.T) {
	ts := backendServer(t)
	tracked := t0.Add(-26 * time.Hour)
	body := transitBody(t,
		bevent(kw("profile-id"), profileA, kw("ip-addr"), "192.0.2.33", kw("tracked-at"), value.InstantOf(tracked),
			kw("props"), kmap(
				kw("lang"), "en",
				kw("password"), "p", kw("old-password"), "o", kw("token"), "t", kw("session-id"), "s",
				kw("client-secret"), "c", value.Keyword{NS: "app.rpc", Name: "request"}, "r",
				kw("empty"), nil, kw("team-id"), teamID, kw("count"), int64(3),
			)),
		kmap(kw("name"), "logout", kw("type"), "trigger"),
		bevent(kw("ip-addr"), "::ffff:198.51.100.2", kw("profile-id"), nil, kw("props"), nil, kw("context"), nil),
	)
	if r := ts.pushBackend(t, ctTransit, body, nil); r.status != http.StatusNoContent {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	rows := ts.rows(t)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	want := []db.Row{
		{Name: "login", Type: "action", Source: "backend", ProfileID: profileA, IPAddr: "192.0.2.33",
			Props:     `{"~:lang":"en","~:team-id":"~u6c1f9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b","~:count":3}`,
			TrackedAt: ms(tracked), CreatedAt: ms(t0)},
		{Name: "logout", Type: "trigger", Source: "backend", ProfileID: uuid.Nil, IPAddr: "0.0.0.0",
			Props: `{}`, TrackedAt: ms(t0), CreatedAt: ms(t0)},
		{Name: "login", Type: "action", Source: "backend", ProfileID: uuid.Nil, IPAddr: "198.51.100.2",
			Props: `{}`, TrackedAt: ms(t0), CreatedAt: ms(t0)},
	}
	for i := range want {
		checkRow(t, rows[i], want[i])
	}

	// The same in JSON, camelCase keys, string uuid and RFC 3339 time.
	before := len(rows)
	jbody := fmt.Sprintf(`{"events":[{"name":"login","type":"action","profileId":"%s","ipAddr":"192.0.2.34",
	  "trackedAt":"%s","props":{"password":"p","app/ns-key":1,"nothing":null,"keepMe":"yes"},
	  "context":{"accessTokenId":"a1"}}]}`, profileA, tracked.Format(time.RFC3339Nano))
	if r := ts.pushBackend(t, ctJSON, []byte(jbody), nil); r.status != http.StatusNoContent {
		t.Fatalf("JSON: status %d, body %s", r.status, r.body)
	}
	rows = ts.rows(t)[before:]
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	checkRow(t, rows[0], db.Row{Name: "login", Type: "action", Source: "backend", ProfileID: profileA,
		IPAddr: "192.0.2.34", Props: `{"~:keep-me":"yes"}`, TrackedAt: ms(tracked), CreatedAt: ms(t0)})
	if ctx := decodeStored(t, rows[0].Context); func() bool { v, _ := ctx.GetKW("access-token-id"); return v != "a1" }() {
		t.Errorf("context = %s, want access-token-id kept", rows[0].Context)
	}
}

// TestBackendRejections: backend bodies are validated like frontend ones,
// the whole request or nothing.
func TestBackendRejections(t *testing.T) {
	ts := backendServer(t)
	for _, tt := range []struct {
		name  string
		ctype string
		body  []byte
		code  string
	}{
		{"bad type", ctTransit, transitBody(t, bevent(), kmap(kw("name"), "x", kw("type"), "click")), "params-validation"},
		{"missing name", ctTransit, transitBody(t, bevent(), kmap(kw("type"), "action")), "params-validation"},
		{"bad name", ctJSON, []byte(`{"events":[{"name":"a b","type":"action"}]}`), "params-validation"},
		{"bad profile-id", ctJSON, []byte(`{"events":[{"name":"a","type":"action","profileId":"nope"}]}`), "params-validation"},
		{"bad ip-addr", ctJSON, []byte(`{"events":[{"name":"a","type":"action","ipAddr":"nope"}]}`), "params-validation"},
		{"props not a map", ctJSON, []byte(`{"events":[{"name":"a","type":"action","props":[1]}]}`), "params-validation"},
		{"bad tracked-at", ctJSON, []byte(`{"events":[{"name":"a","type":"action","trackedAt":"soon"}]}`), "params-validation"},
		{"malformed", ctJSON, []byte(`{"events":`), "malformed-body"},
	} {
		r := ts.pushBackend(t, tt.ctype, tt.body, nil)
		checkError(t, r, http.StatusBadRequest, tt.code, tt.ctype == ctTransit)
	}
	checkError(t, ts.pushBackend(t, "text/plain", []byte("x"), nil), http.StatusUnsupportedMediaType, "unsupported-media-type", false)
	if n := len(ts.rows(t)); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
	if r := ts.pushBackend(t, ctTransit, transitBody(t, bevent()), nil); r.status != http.StatusNoContent {
		t.Fatalf("good request after rejections: status %d", r.status)
	}
}

// TestBackendDerivedContext: the request adds version, initiator,
// client-version, client-user-agent, client-event-origin and
// external-session-id to each event's context, cut or dropped per SPEC
// 3.2, winning over the body's keys.
func TestBackendDerivedContext(t *testing.T) {
	ts := backendServer(t)
	long := func(n int) string { return strings.Repeat("v", n) }
	bodyCtx := kmap(kw("version"), "body-version", kw("initiator"), "body-initiator",
		kw("client-version"), "body-cv", kw("client-user-agent"), "body-ua",
		kw("client-event-origin"), "body-origin", kw("external-session-id"), "body-session",
		kw("custom"), "kept")
	tests := []struct {
		name   string
		header map[string]string
		want   map[string]any // nil value: the key must be absent
	}{
		{"all headers",
			map[string]string{"X-Frontend-Version": "2.5.0", "User-Agent": "Penpot/2.5 (linux)",
				"X-Event-Origin": "workspace", "X-External-Session-Id": "ext-1"},
			map[string]any{"version": "1.2.3-test", "initiator": "tally", "client-version": "2.5.0",
				"client-user-agent": "Penpot/2.5 (linux)", "client-event-origin": "workspace",
				"external-session-id": "ext-1", "custom": "kept"}},
		{"oversize values are cut",
			map[string]string{"X-Frontend-Version": long(150), "User-Agent": long(600),
				"X-Event-Origin": long(300), "X-External-Session-Id": long(256)},
			map[string]any{"client-version": long(100), "client-user-agent": long(500),
				"client-event-origin": long(200), "external-session-id": long(256)}},
		{"multi-byte values are cut by character",
			map[string]string{"X-Frontend-Version": strings.Repeat("é", 101)},
			map[string]any{"client-version": strings.Repeat("é", 100)}},
		{"a session id over 256 is dropped",
			map[string]string{"X-External-Session-Id": long(257), "User-Agent": ""},
			map[string]any{"external-session-id": "body-session", "client-user-agent": "body-ua",
				"client-version": "body-cv", "client-event-origin": "body-origin",
				"version": "1.2.3-test", "initiator": "tally"}},
		{"null and blank are dropped",
			map[string]string{"X-Frontend-Version": "null", "X-Event-Origin": "   ",
				"X-External-Session-Id": "null", "User-Agent": "null"},
			map[string]any{"client-version": "body-cv", "client-event-origin": "body-origin",
				"external-session-id": "body-session", "client-user-agent": "body-ua"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ts.rows(t))
			hdr := map[string]string{"X-Shared-Key": "tally " + sharedKey}
			for k, v := range tt.header {
				hdr[k] = v
			}
			body := transitBody(t, bevent(kw("context"), bodyCtx))
			r := ts.pushBackend(t, ctTransit, body, hdr)
			if r.status != http.StatusNoContent {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			rows := ts.rows(t)[before:]
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			ctx := decodeStored(t, rows[0].Context)
			for k, want := range tt.want {
				got, ok := ctx.GetKW(k)
				if !ok || got != want {
					t.Errorf("context %s = %v (present %v), want %v", k, got, ok, want)
				}
			}
		})
	}
	// An event without a context gets the derived keys alone; with no
	// user agent, none is stored.
	before := len(ts.rows(t))
	r := ts.pushBackend(t, ctJSON, []byte(`{"events":[{"name":"a","type":"action"}]}`),
		map[string]string{"X-Shared-Key": sharedKey, "User-Agent": ""})
	if r.status != http.StatusNoContent {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	row := ts.rows(t)[before]
	if got, want := row.Context, `{"~:version":"1.2.3-test","~:initiator":"app"}`; got != want {
		t.Errorf("context = %s, want %s", got, want)
	}
}

// TestBackendLimits: the management route has the same body and event
// limits.
func TestBackendLimits(t *testing.T) {
	cfg := testConfig()
	cfg.SharedKey, cfg.MaxEvents, cfg.MaxBody = sharedKey, 2, 512
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	r := ts.pushBackend(t, ctTransit, transitBody(t, bevent(), bevent(), bevent()), nil)
	checkError(t, r, http.StatusBadRequest, "params-validation", true)
	r = ts.pushBackend(t, ctTransit, transitBody(t, bevent(kw("props"), kmap(kw("x"), strings.Repeat("x", 600)))), nil)
	checkError(t, r, http.StatusRequestEntityTooLarge, "request-body-too-large", true)
	if n := len(ts.rows(t)); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
	if r := ts.pushBackend(t, ctTransit, transitBody(t, bevent(), bevent()), nil); r.status != http.StatusNoContent {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
}

// TestSubmit: the Go API for embedding code fills the defaults of SPEC
// 3.2 and stores per the flags, into the same database.
func TestSubmit(t *testing.T) {
	ts := startServer(t, testConfig(), audit.Flags{})
	l := &audit.Logger{Store: ts.DB, Flags: audit.Flags{AuditLog: true, Telemetry: true}, Now: ts.Clock.Now}
	ctx := t.Context()
	err := l.Submit(ctx, audit.Event{Name: "instance-start", Type: "trigger",
		Props:   kmap(kw("version"), "1.2.3", kw("password"), "x", value.Keyword{NS: "a", Name: "b"}, int64(1), kw("nil"), nil),
		Context: kmap(kw("version"), "1.2.3", kw("host"), "box")})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	rows := bySource(ts.rows(t))
	if len(rows["backend"]) != 1 || len(rows["telemetry"]) != 1 {
		t.Fatalf("rows = %+v", rows)
	}
	checkRow(t, rows["backend"][0], db.Row{Name: "instance-start", Type: "trigger", Source: "backend",
		ProfileID: uuid.Nil, IPAddr: "0.0.0.0", Props: `{"~:version":"1.2.3"}`,
		Context: `{"~:version":"1.2.3","~:host":"box"}`, TrackedAt: ms(t0), CreatedAt: ms(t0)})
	checkRow(t, rows["telemetry"][0], db.Row{Name: "instance-start", Type: "trigger", Source: "telemetry",
		ProfileID: uuid.Nil, IPAddr: "0.0.0.0", Props: `{}`, Context: `{"~:version":"1.2.3"}`,
		TrackedAt: ms(audit.Day(t0)), CreatedAt: ms(audit.Day(t0))})

	for _, bad := range []audit.Event{
		{Name: "", Type: "trigger"},
		{Name: "a b", Type: "trigger"},
		{Name: "x", Type: "click"},
		// A full row must never be labelled telemetry: it would skip
		// anonymisation and be shipped with its ip and props.
		{Name: "x", Type: "action", Source: "telemetry", IPAddr: "192.0.2.1", Props: kmap(kw("email"), "a@b.c")},
		{Name: "x", Type: "action", Source: "other"},
	} {
		if err := l.Submit(ctx, bad); err == nil {
			t.Errorf("Submit(%+v) = nil, want an error", bad)
		}
	}
	if got, want := len(ts.rows(t)), 2; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
}
