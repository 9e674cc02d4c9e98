package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/server"
	"tally/telemetry/audit"
)

// TestClientIP: the peer 127.0.0.1 is a trusted proxy by default, so
// X-Real-IP wins, else the first X-Forwarded-For entry; from an untrusted
// peer the headers are ignored and the peer address is stored.
func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		header  map[string]string
		trusted bool
		want    string
	}{
		{"no headers", nil, true, "127.0.0.1"},
		{"x-real-ip", map[string]string{"X-Real-IP": "203.0.113.7"}, true, "203.0.113.7"},
		{"x-forwarded-for first entry", map[string]string{"X-Forwarded-For": "198.51.100.1, 10.0.0.1, 127.0.0.1"}, true, "198.51.100.1"},
		{"x-real-ip beats x-forwarded-for", map[string]string{"X-Real-IP": "203.0.113.7", "X-Forwarded-For": "198.51.100.1"}, true, "203.0.113.7"},
		{"bad x-real-ip falls back to x-forwarded-for", map[string]string{"X-Real-IP": "garbage", "X-Forwarded-For": "198.51.100.1"}, true, "198.51.100.1"},
		{"bad headers fall back to the peer", map[string]string{"X-Real-IP": "garbage", "X-Forwarded-For": "unknown"}, true, "127.0.0.1"},
		{"ipv6", map[string]string{"X-Real-IP": "2001:db8::1"}, true, "2001:db8::1"},
		{"ipv4-mapped ipv6", map[string]string{"X-Real-IP": "::ffff:192.0.2.4"}, true, "192.0.2.4"},
		{"untrusted peer: x-real-ip ignored", map[string]string{"X-Real-IP": "203.0.113.7"}, false, "127.0.0.1"},
		{"untrusted peer: x-forwarded-for ignored", map[string]string{"X-Forwarded-For": "198.51.100.1"}, false, "127.0.0.1"},
	}
	servers := map[bool]*testServer{}
	for _, trusted := range []bool{true, false} {
		cfg := testConfig()
		if !trusted {
			cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}
		servers[trusted] = startServer(t, cfg, audit.Flags{AuditLog: true, Telemetry: true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := servers[tt.trusted]
			before := len(ts.rows(t))
			ts.mustPush(t, ctTransit, transitBody(t, simpleEvent("e")), tt.header)
			rows := bySource(ts.rows(t)[before:])
			if len(rows["frontend"]) != 1 || len(rows["telemetry"]) != 1 {
				t.Fatalf("rows = %+v", rows)
			}
			if got := rows["frontend"][0].IPAddr; got != tt.want {
				t.Errorf("ip_addr = %q, want %q", got, tt.want)
			}
			if got := rows["telemetry"][0].IPAddr; got != "0.0.0.0" {
				t.Errorf("telemetry ip_addr = %q, want 0.0.0.0", got)
			}
		})
	}
}

// TestAuthNonePublic: auth none on a non-loopback address fails with a
// clear message.
func TestAuthNonePublic(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0"} {
		cfg := testConfig()
		cfg.Addr = addr
		srv, err := server.New(cfg, server.Deps{Recorder: &audit.Logger{}})
		if err == nil {
			srv.Shutdown(context.Background())
			t.Fatalf("New with auth none on %s succeeded, want an error", addr)
		}
		if !strings.Contains(err.Error(), "--allow-anonymous-public") || !strings.Contains(err.Error(), "none") {
			t.Errorf("New on %s: error %q does not say what to do", addr, err)
		}
	}
}

// tokenServer starts a server in token mode and makes a token for
// profileA.
func tokenServer(t *testing.T) (*testServer, db.Token, string) {
	t.Helper()
	cfg := testConfig()
	cfg.Auth = server.AuthToken
	ts := startServer(t, cfg, audit.Flags{AuditLog: true, Telemetry: true})
	tok, secret, err := ts.DB.CreateToken(context.Background(), profileA, time.Hour)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return ts, tok, secret
}

// TestAuthToken: Authorization: Token <secret> makes the rows carry the
// token's profile; a profile-id in the body is ignored; missing, wrong,
// revoked and expired tokens are 401 and store nothing.
func TestAuthToken(t *testing.T) {
	ts, tok, secret := tokenServer(t)
	body := transitBody(t, simpleEvent("e")) // carries another profile-id
	auth := map[string]string{"Authorization": "Token " + secret}

	ts.mustPush(t, ctTransit, body, auth)
	rows := ts.rows(t)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for _, r := range rows {
		if r.ProfileID != profileA {
			t.Errorf("%s row profile_id = %s, want the token's %s", r.Source, r.ProfileID, profileA)
		}
	}

	fail := func(name string, header map[string]string, code string) {
		t.Helper()
		before := len(ts.rows(t))
		r := ts.push(t, ctTransit, body, header)
		checkError(t, r, http.StatusUnauthorized, code, true)
		if got, want := len(ts.rows(t)), before; got != want {
			t.Fatalf("%s: %d rows, want %d", name, got, want)
		}
	}
	fail("no header", nil, "authentication-required")
	fail("wrong secret", map[string]string{"Authorization": "Token " + secret + "x"}, "invalid-token")
	fail("wrong scheme", map[string]string{"Authorization": "Bearer " + secret}, "invalid-token")
	fail("no secret", map[string]string{"Authorization": "Token"}, "invalid-token")

	// JSON clients get JSON errors.
	r := ts.push(t, ctJSON, []byte(`{"events":[]}`), nil)
	checkError(t, r, http.StatusUnauthorized, "authentication-required", false)

	// get-enabled-flags needs no token.
	if r := ts.do(t, request{method: http.MethodGet, path: "/api/main/methods/get-enabled-flags"}); r.status != http.StatusOK {
		t.Errorf("get-enabled-flags in token mode: status %d", r.status)
	}

	// Revocation takes effect at once, on the running server.
	ts.mustPush(t, ctTransit, body, auth)
	if err := ts.DB.RevokeToken(context.Background(), tok.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	fail("revoked", auth, "invalid-token")
}

func TestAuthTokenExpired(t *testing.T) {
	ts, _, secret := tokenServer(t) // valid for an hour from t0
	auth := map[string]string{"Authorization": "Token " + secret}
	body := transitBody(t, simpleEvent("e"))
	ts.Clock.Advance(59 * time.Minute)
	ts.mustPush(t, ctTransit, body, auth)
	ts.Clock.Advance(time.Minute)
	checkError(t, ts.push(t, ctTransit, body, auth), http.StatusUnauthorized, "invalid-token", true)
	if got, want := len(ts.rows(t)), 2; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	// Another, unexpiring token still works.
	_, secret2, err := ts.DB.CreateToken(context.Background(), profileA, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts.Clock.Advance(1000 * time.Hour)
	ts.mustPush(t, ctTransit, body, map[string]string{"Authorization": "Token " + secret2})
}

// TestCreateTokenNegativeTTL: a negative lifetime is an error, not a
// token that never expires.
func TestCreateTokenNegativeTTL(t *testing.T) {
	ts := startServer(t, testConfig(), audit.Flags{})
	if tok, _, err := ts.DB.CreateToken(context.Background(), profileA, -time.Hour); err == nil {
		t.Fatalf("CreateToken with ttl -1h = %+v, want an error", tok)
	}
	toks, err := ts.DB.Tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 0 {
		t.Fatalf("tokens stored: %+v", toks)
	}
}

// TestAuthTokenRateKey: in token mode the rate limit counts per profile,
// not per address.
func TestAuthTokenRateKey(t *testing.T) {
	cfg := testConfig()
	cfg.Auth = server.AuthToken
	cfg.Rate, cfg.RateBurst = 1, 1
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	ctx := context.Background()
	_, s1, err := ts.DB.CreateToken(ctx, profileA, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, s2, err := ts.DB.CreateToken(ctx, uuid.New(), 0)
	if err != nil {
		t.Fatal(err)
	}
	body := transitBody(t, simpleEvent("e"))
	ts.mustPush(t, ctTransit, body, map[string]string{"Authorization": "Token " + s1})
	checkError(t, ts.push(t, ctTransit, body, map[string]string{"Authorization": "Token " + s1}),
		http.StatusTooManyRequests, "too-many-requests", true)
	ts.mustPush(t, ctTransit, body, map[string]string{"Authorization": "Token " + s2})
}

// TestAuthProxy: the profile comes from X-Profile-Id set by a trusted
// peer; missing or malformed header, or an untrusted peer, is 401.
func TestAuthProxy(t *testing.T) {
	cfg := testConfig()
	cfg.Auth = server.AuthProxy
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	body := transitBody(t, simpleEvent("e"))

	ts.mustPush(t, ctTransit, body, map[string]string{"X-Profile-Id": profileA.String(), "X-Real-IP": "203.0.113.9"})
	rows := ts.rows(t)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	if got := rows[0].ProfileID; got != profileA {
		t.Errorf("profile_id = %s, want %s", got, profileA)
	}
	if got, want := rows[0].IPAddr, "203.0.113.9"; got != want {
		t.Errorf("ip_addr = %s, want %s", got, want)
	}

	// An upper-case uuid is stored in canonical lower case.
	ts.mustPush(t, ctTransit, body, map[string]string{"X-Profile-Id": strings.ToUpper(profileA.String())})
	if got := ts.rows(t)[1].ProfileID; got != profileA {
		t.Errorf("profile_id from an upper-case header = %s, want %s", got, profileA)
	}

	for _, tt := range []struct {
		name   string
		header map[string]string
	}{
		{"missing", nil},
		{"empty", map[string]string{"X-Profile-Id": " "}},
		{"malformed", map[string]string{"X-Profile-Id": "not-a-uuid"}},
		{"uuid without dashes", map[string]string{"X-Profile-Id": strings.ReplaceAll(profileA.String(), "-", "")}},
		{"urn form", map[string]string{"X-Profile-Id": "urn:uuid:" + profileA.String()}},
	} {
		r := ts.push(t, ctTransit, body, tt.header)
		checkError(t, r, http.StatusUnauthorized, "authentication-required", true)
	}
	if got, want := len(ts.rows(t)), 2; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}

	// A custom header name.
	cfg = testConfig()
	cfg.Auth, cfg.ProxyHeader = server.AuthProxy, "X-Penpot-Profile"
	ts2 := startServer(t, cfg, audit.Flags{AuditLog: true})
	checkError(t, ts2.push(t, ctTransit, body, map[string]string{"X-Profile-Id": profileA.String()}),
		http.StatusUnauthorized, "authentication-required", true)
	ts2.mustPush(t, ctTransit, body, map[string]string{"X-Penpot-Profile": profileA.String()})
}

func TestAuthProxyUntrustedPeer(t *testing.T) {
	cfg := testConfig()
	cfg.Auth = server.AuthProxy
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	ts := startServer(t, cfg, audit.Flags{AuditLog: true})
	r := ts.push(t, ctTransit, transitBody(t, simpleEvent("e")), map[string]string{"X-Profile-Id": profileA.String()})
	checkError(t, r, http.StatusUnauthorized, "authentication-required", true)
	if n := len(ts.rows(t)); n != 0 {
		t.Fatalf("%d rows stored from an untrusted peer", n)
	}
}
