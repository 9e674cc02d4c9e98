package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"tally/server"
	"tally/telemetry/audit"
)

// failing is a Recorder and Readiness whose every call fails with an
// error holding a secret that must not reach the client.
type failing struct{}

var errSecret = errors.New("disk full at /secret/path")

func (failing) Record(context.Context, []audit.Event) error { return errSecret }
func (failing) Ready(context.Context) error                 { return errSecret }

// TestInternalError: a storage failure answers 500 internal with no
// details, in the client's format; readiness failure is 503.
func TestInternalError(t *testing.T) {
	cfg := testConfig()
	cfg.SharedKey = sharedKey
	srv, err := server.New(cfg, server.Deps{Recorder: failing{}, Ready: failing{}, Flags: audit.DefaultFlags(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	ts := &testServer{URL: "http://" + srv.Addr(), Server: srv, client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for _, tt := range []struct {
		req     request
		transit bool
	}{
		{request{path: pushPath, ctype: ctTransit, body: transitBody(t, simpleEvent("e"))}, true},
		{request{path: pushPath, ctype: ctJSON, body: []byte(`{"events":[{"name":"e","type":"action","props":{},"timestamp":0}]}`)}, false},
		{request{path: backendPath, ctype: ctJSON, body: []byte(`{"events":[{"name":"e","type":"action"}]}`),
			header: map[string]string{"X-Shared-Key": sharedKey}}, false},
	} {
		r := ts.do(t, tt.req)
		if r.status != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500; body %s", tt.req.path, r.status, r.body)
		}
		if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "disk") {
			t.Errorf("500 body leaks the cause: %s", r.body)
		}
		want := `{"code":"internal","hint":"internal error","type":"internal"}`
		if tt.transit {
			want = `["^ ","~:type","~:internal","~:code","^1","~:hint","internal error"]`
		}
		if got := strings.TrimSpace(string(r.body)); got != want {
			t.Errorf("500 body = %s, want %s", got, want)
		}
	}
	if r := ts.do(t, request{method: http.MethodGet, path: "/readyz"}); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with a failing database: status %d, want 503", r.status)
	}
	if r := ts.do(t, request{method: http.MethodGet, path: "/healthz"}); r.status != http.StatusOK {
		t.Errorf("/healthz: status %d, want 200", r.status)
	}
}
