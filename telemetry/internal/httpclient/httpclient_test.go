package httpclient

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A sender's POST is never turned into a GET by a redirect; 307/308 to the
// same host are followed with the body; other hosts are refused.
func TestRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer other.Close()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		switch r.URL.Path {
		case "/301", "/302", "/303":
			http.Redirect(w, r, "/landing", map[string]int{"/301": 301, "/302": 302, "/303": 303}[r.URL.Path])
		case "/307":
			http.Redirect(w, r, "/landing", 307)
		case "/308-away":
			http.Redirect(w, r, other.URL+"/", 308)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	c := New(5 * time.Second)
	for _, tt := range []struct {
		path   string
		status int
		err    bool
	}{
		{"/301", 301, false},
		{"/302", 302, false},
		{"/303", 303, false},
		{"/307", 204, false},
		{"/308-away", 0, true},
	} {
		got = nil
		resp, err := c.Post(srv.URL+tt.path, "application/json", strings.NewReader("page"))
		if tt.err {
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: followed a redirect to another host", tt.path)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		for _, g := range got {
			if !strings.HasPrefix(g, "POST ") || !strings.HasSuffix(g, " page") {
				t.Errorf("%s: the server saw %q: a redirect changed the request", tt.path, g)
			}
		}
	}
}
