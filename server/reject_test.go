package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tally/server"
	"tally/telemetry/audit"
	"tally/telemetry/value"
)

// TestRejections: every bad request answers 4xx in Penpot's error shape
// and in the client's format, stores nothing, and leaves the server
// serving: a good request right after it succeeds.
func TestRejections(t *testing.T) {
	good := transitBody(t, simpleEvent("good"))
	goodJSON := []byte(`{"events":[{"name":"good","type":"action","props":{},"timestamp":0}]}`)
	longName := strings.Repeat("n", 251)
	tests := []struct {
		name   string
		cfg    func(*server.Config)
		ctype  string
		body   []byte
		status int
		code   string
	}{
		{name: "malformed transit", ctype: ctTransit, body: []byte(`["^ ","~:events",[`),
			status: 400, code: "malformed-body"},
		{name: "transit dangling cache code", ctype: ctTransit, body: []byte(`["^ ","^0",[]]`),
			status: 400, code: "malformed-body"},
		{name: "transit unknown tag", ctype: ctTransit, body: []byte(`["^ ","~:events",["~#nope",[]]]`),
			status: 400, code: "malformed-body"},
		{name: "malformed JSON", ctype: ctJSON, body: []byte(`{"events": [}`),
			status: 400, code: "malformed-body"},
		{name: "JSON trailing garbage", ctype: ctJSON, body: append(append([]byte{}, goodJSON...), "x"...),
			status: 400, code: "malformed-body"},
		{name: "empty body", ctype: ctJSON, body: []byte{},
			status: 400, code: "malformed-body"},
		{name: "wrong type value", ctype: ctTransit,
			body:   transitBody(t, fevent("navigate", "click", kmap(), nil, t0)),
			status: 400, code: "params-validation"},
		{name: "type not a string", ctype: ctTransit,
			body:   transitBody(t, kmap(kw("name"), "x", kw("type"), kw("action"), kw("props"), kmap(), kw("timestamp"), value.InstantOf(t0))),
			status: 400, code: "params-validation"},
		{name: "missing name", ctype: ctTransit,
			body:   transitBody(t, kmap(kw("type"), "action", kw("props"), kmap(), kw("timestamp"), value.InstantOf(t0))),
			status: 400, code: "params-validation"},
		{name: "empty name", ctype: ctJSON, body: []byte(`{"events":[{"name":"","type":"action","props":{},"timestamp":0}]}`),
			status: 400, code: "params-validation"},
		{name: "props not a map", ctype: ctTransit,
			body:   transitBody(t, kmap(kw("name"), "x", kw("type"), "action", kw("props"), value.Vector{"a"}, kw("timestamp"), value.InstantOf(t0))),
			status: 400, code: "params-validation"},
		{name: "missing props", ctype: ctJSON, body: []byte(`{"events":[{"name":"x","type":"action","timestamp":0}]}`),
			status: 400, code: "params-validation"},
		{name: "context not a map", ctype: ctJSON, body: []byte(`{"events":[{"name":"x","type":"action","props":{},"context":"c","timestamp":0}]}`),
			status: 400, code: "params-validation"},
		{name: "name over 250 characters", ctype: ctTransit,
			body:   transitBody(t, fevent(longName, "action", kmap(), nil, t0)),
			status: 400, code: "params-validation"},
		{name: "name with whitespace", ctype: ctTransit,
			body:   transitBody(t, fevent("open file", "action", kmap(), nil, t0)),
			status: 400, code: "params-validation"},
		{name: "name with a control character", ctype: ctJSON,
			body:   []byte(`{"events":[{"name":"a\u0007b","type":"action","props":{},"timestamp":0}]}`),
			status: 400, code: "params-validation"},
		{name: "missing timestamp", ctype: ctTransit,
			body:   transitBody(t, kmap(kw("name"), "x", kw("type"), "action", kw("props"), kmap())),
			status: 400, code: "params-validation"},
		{name: "unparsable timestamp", ctype: ctJSON, body: []byte(`{"events":[{"name":"x","type":"action","props":{},"timestamp":"yesterday"}]}`),
			status: 400, code: "params-validation"},
		{name: "events not a list", ctype: ctJSON, body: []byte(`{"events":{"name":"x","type":"action","props":{},"timestamp":0}}`),
			status: 400, code: "params-validation"},
		{name: "events missing", ctype: ctJSON, body: []byte(`{"evnts":[]}`),
			status: 400, code: "params-validation"},
		{name: "body not a map", ctype: ctJSON, body: []byte(`[]`),
			status: 400, code: "params-validation"},
		{name: "event not a map", ctype: ctJSON, body: []byte(`{"events":["navigate"]}`),
			status: 400, code: "params-validation"},
		{name: "last event bad", ctype: ctTransit,
			body: transitBody(t, simpleEvent("one"), simpleEvent("two"), simpleEvent("three"),
				fevent("four", "bogus", kmap(), nil, t0)),
			status: 400, code: "params-validation"},
		{name: "last event bad JSON", ctype: ctJSON,
			body:   []byte(`{"events":[{"name":"one","type":"action","props":{},"timestamp":0},{"name":"two","type":"action","props":[],"timestamp":0}]}`),
			status: 400, code: "params-validation"},
		{name: "more than max-events", cfg: func(c *server.Config) { c.MaxEvents = 3 }, ctype: ctTransit,
			body:   transitBody(t, simpleEvent("a"), simpleEvent("b"), simpleEvent("c"), simpleEvent("d")),
			status: 400, code: "params-validation"},
		{name: "body over max-body", cfg: func(c *server.Config) { c.MaxBody = 1024 }, ctype: ctTransit,
			body:   transitBody(t, fevent("big", "action", kmap(kw("blob"), strings.Repeat("x", 2000)), nil, t0)),
			status: 413, code: "request-body-too-large"},
		{name: "wrong content type", ctype: "text/plain", body: goodJSON,
			status: 415, code: "unsupported-media-type"},
		{name: "no content type", ctype: "", body: goodJSON,
			status: 415, code: "unsupported-media-type"},
		{name: "form content type", ctype: "application/x-www-form-urlencoded", body: []byte("events=1"),
			status: 415, code: "unsupported-media-type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			ts := startServer(t, cfg, audit.Flags{AuditLog: true, Telemetry: true})
			r := ts.push(t, tt.ctype, tt.body, nil)
			checkError(t, r, tt.status, tt.code, tt.ctype == ctTransit)
			if rows := ts.rows(t); len(rows) != 0 {
				t.Fatalf("%d rows stored after a rejected request: %+v", len(rows), rows)
			}
			ts.mustPush(t, ctTransit, good, nil)
			if got, want := len(ts.rows(t)), 2; got != want {
				t.Fatalf("after a good request: %d rows, want %d", got, want)
			}
		})
	}
}

// TestLimitsAtTheEdge: exactly max-events events and a body of exactly
// max-body bytes are accepted.
func TestLimitsAtTheEdge(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEvents = 3
	body := transitBody(t, simpleEvent("a"), simpleEvent("b"), simpleEvent("c"))
	cfg.MaxBody = int64(len(body))
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	ts.mustPush(t, ctTransit, body, nil)
	if got, want := len(ts.rows(t)), 3; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	r := ts.push(t, ctTransit, append(body, ' '), nil)
	checkError(t, r, http.StatusRequestEntityTooLarge, "request-body-too-large", true)
}

// TestBodyTooLargeChunked: a body sent without a length is cut at
// max-body as well.
func TestBodyTooLargeChunked(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBody = 1024
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	big := []byte(`{"events":[{"name":"big","type":"action","props":{"blob":"` + strings.Repeat("x", 4000) + `"},"timestamp":0}]}`)
	r := ts.do(t, request{path: pushPath, ctype: ctJSON, body: big, chunked: true})
	checkError(t, r, http.StatusRequestEntityTooLarge, "request-body-too-large", false)
	small := []byte(`{"events":[{"name":"small","type":"action","props":{},"timestamp":0}]}`)
	if r := ts.do(t, request{path: pushPath, ctype: ctJSON, body: small, chunked: true}); r.status != http.StatusNoContent {
		t.Fatalf("chunked small body: status %d, body %s", r.status, r.body)
	}
	if got, want := len(ts.rows(t)), 1; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
}

// TestErrorFormat: errors come in the format the client asked for — its
// Accept header, else its content type.
func TestErrorFormat(t *testing.T) {
	ts := startServer(t, testConfig(), audit.Flags{AuditLog: true})
	badTransit := transitBody(t, fevent("x", "bogus", kmap(), nil, t0))
	badJSON := []byte(`{"events":[{"name":"x","type":"bogus","props":{},"timestamp":0}]}`)
	tests := []struct {
		name        string
		ctype       string
		accept      string
		body        []byte
		wantTransit bool
	}{
		{"transit body", ctTransit, "", badTransit, true},
		{"transit body with charset", ctTransit + "; charset=utf-8", "", badTransit, true},
		{"transit body, accepts anything", ctTransit, "*/*", badTransit, true},
		{"transit body, accepts JSON", ctTransit, ctJSON, badTransit, false},
		{"JSON body", ctJSON, "", badJSON, false},
		{"JSON body, accepts transit", ctJSON, ctTransit, badJSON, true},
		{"JSON body, accepts transit among others", ctJSON, "application/transit+json, */*;q=0.5", badJSON, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, request{path: pushPath, ctype: tt.ctype, accept: tt.accept, body: tt.body})
			checkError(t, r, http.StatusBadRequest, "params-validation", tt.wantTransit)
		})
	}
	// 415 answers in the format the client accepts, too.
	r := ts.do(t, request{path: pushPath, ctype: "text/plain", accept: ctTransit, body: []byte("x")})
	checkError(t, r, http.StatusUnsupportedMediaType, "unsupported-media-type", true)
	if n := len(ts.rows(t)); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
}

// TestRateLimit: with --rate 1 and --rate-burst 2, the third request in
// the same instant is 429 too-many-requests (with Retry-After); a second
// later one more is allowed; another client address has its own bucket.
func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Rate, cfg.RateBurst = 1, 2
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	body := transitBody(t, simpleEvent("e"))
	ts.mustPush(t, ctTransit, body, nil)
	ts.mustPush(t, ctTransit, body, nil)
	for range 2 {
		r := ts.push(t, ctTransit, body, nil)
		checkError(t, r, http.StatusTooManyRequests, "too-many-requests", true)
		if got := r.header.Get("Retry-After"); got == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	r := ts.do(t, request{path: pushPath, ctype: ctJSON, body: []byte(`{"events":[]}`)})
	checkError(t, r, http.StatusTooManyRequests, "too-many-requests", false)
	if got, want := len(ts.rows(t)), 2; got != want {
		t.Fatalf("%d rows, want %d (rejected requests store nothing)", got, want)
	}

	// Another client (behind the trusted loopback proxy) is not limited.
	ts.mustPush(t, ctTransit, body, map[string]string{"X-Real-IP": "192.0.2.1"})

	// One second refills one token.
	ts.Clock.Advance(time.Second)
	ts.mustPush(t, ctTransit, body, nil)
	checkError(t, ts.push(t, ctTransit, body, nil), http.StatusTooManyRequests, "too-many-requests", true)
	if got, want := len(ts.rows(t)), 4; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
}

// TestRateLimitOff: --rate 0 never limits.
func TestRateLimitOff(t *testing.T) {
	cfg := testConfig()
	cfg.Rate, cfg.RateBurst = 0, 0
	ts := startServer(t, cfg, audit.Flags{})
	for i := range 150 {
		if r := ts.push(t, ctJSON, []byte(`{"events":[]}`), nil); r.status != http.StatusNoContent {
			t.Fatalf("request %d: status %d", i, r.status)
		}
	}
}

// TestGetEnabledFlags: both route prefixes, GET and POST, transit and
// JSON, for each flag combination.
func TestGetEnabledFlags(t *testing.T) {
	for _, tt := range []struct {
		flags       audit.Flags
		wantTransit string
		wantJSON    string
	}{
		{audit.Flags{}, `["~#set",[]]`, `[]`},
		{audit.Flags{Telemetry: true}, `["~#set",["~:telemetry"]]`, `["telemetry"]`},
		{audit.Flags{AuditLog: true}, `["~#set",["~:audit-log"]]`, `["audit-log"]`},
		{audit.Flags{AuditLog: true, Telemetry: true, AuditLogArchive: true, AuditLogGC: true},
			`["~#set",["~:audit-log","~:telemetry"]]`, `["audit-log","telemetry"]`},
	} {
		t.Run(fmt.Sprint(tt.flags.Enabled()), func(t *testing.T) {
			ts := startServer(t, testConfig(), tt.flags)
			for _, prefix := range []string{"/api/main/methods/", "/api/rpc/command/"} {
				path := prefix + "get-enabled-flags"
				for _, rq := range []struct {
					req         request
					wantTransit bool
				}{
					{request{method: http.MethodGet, path: path, accept: ctTransit}, true},
					{request{method: http.MethodPost, path: path, ctype: ctTransit, body: []byte(`["^ "]`)}, true},
					{request{method: http.MethodPost, path: path, ctype: ctJSON, accept: ctTransit, body: []byte(`{}`)}, true},
					{request{method: http.MethodGet, path: path, accept: ctJSON}, false},
					{request{method: http.MethodGet, path: path}, false},
					{request{method: http.MethodPost, path: path, ctype: ctJSON, body: []byte(`{}`)}, false},
				} {
					r := ts.do(t, rq.req)
					want, wantCT := tt.wantJSON, ctJSON
					if rq.wantTransit {
						want, wantCT = tt.wantTransit, ctTransit
					}
					if r.status != http.StatusOK {
						t.Errorf("%s %s (accept %q): status %d", rq.req.method, path, rq.req.accept, r.status)
						continue
					}
					if got := strings.TrimSpace(string(r.body)); got != want {
						t.Errorf("%s %s (accept %q, content type %q) = %s, want %s",
							rq.req.method, path, rq.req.accept, rq.req.ctype, got, want)
					}
					if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, wantCT) {
						t.Errorf("%s %s: Content-Type %q, want %s", rq.req.method, path, got, wantCT)
					}
				}
			}
		})
	}
}

// TestBothPrefixesPush: push-audit-events answers on the RPC prefix too.
func TestBothPrefixesPush(t *testing.T) {
	ts := startServer(t, testConfig(), audit.Flags{AuditLog: true})
	for _, path := range []string{"/api/main/methods/push-audit-events", "/api/rpc/command/push-audit-events"} {
		if r := ts.do(t, request{path: path, ctype: ctTransit, body: transitBody(t, simpleEvent("e"))}); r.status != http.StatusNoContent {
			t.Errorf("POST %s: status %d, body %s", path, r.status, r.body)
		}
	}
	if got, want := len(ts.rows(t)), 2; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
}
