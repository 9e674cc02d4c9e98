package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIPUnit(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		remote  string
		header  map[string]string
		trusted []netip.Prefix
		want    string
	}{
		{"peer only", "192.0.2.1:5000", nil, loopback, "192.0.2.1"},
		{"ipv6 peer", "[2001:db8::2]:5000", nil, loopback, "2001:db8::2"},
		{"ipv6 peer with zone", "[fe80::1%eth0]:5000", nil, loopback, "fe80::1"},
		{"mapped peer", "[::ffff:192.0.2.1]:5000", nil, loopback, "192.0.2.1"},
		{"untrusted peer ignores headers", "192.0.2.1:5000",
			map[string]string{"X-Real-Ip": "203.0.113.1", "X-Forwarded-For": "203.0.113.2"}, loopback, "192.0.2.1"},
		{"trusted loopback peer", "127.0.0.1:5000", map[string]string{"X-Real-Ip": "203.0.113.1"}, loopback, "203.0.113.1"},
		{"trusted ::1 peer", "[::1]:5000", map[string]string{"X-Forwarded-For": "203.0.113.2"}, loopback, "203.0.113.2"},
		{"trusted mapped loopback peer", "[::ffff:127.0.0.1]:5000", map[string]string{"X-Real-Ip": "203.0.113.1"}, loopback, "203.0.113.1"},
		{"other trusted range", "10.1.2.3:80", map[string]string{"X-Real-Ip": "203.0.113.1"}, proxies, "203.0.113.1"},
		{"loopback not in the trusted list", "127.0.0.1:80", map[string]string{"X-Real-Ip": "203.0.113.1"}, proxies, "127.0.0.1"},
		{"no trusted proxies", "127.0.0.1:80", map[string]string{"X-Real-Ip": "203.0.113.1"}, nil, "127.0.0.1"},
		{"x-real-ip first", "127.0.0.1:1", map[string]string{"X-Real-Ip": " 203.0.113.1 ", "X-Forwarded-For": "203.0.113.2"}, loopback, "203.0.113.1"},
		{"first forwarded entry", "127.0.0.1:1", map[string]string{"X-Forwarded-For": " 203.0.113.2 , 10.0.0.1"}, loopback, "203.0.113.2"},
		{"bad x-real-ip", "127.0.0.1:1", map[string]string{"X-Real-Ip": "1.2.3.x", "X-Forwarded-For": "203.0.113.2"}, loopback, "203.0.113.2"},
		{"bad forwarded entry", "127.0.0.1:1", map[string]string{"X-Forwarded-For": "unknown, 203.0.113.2"}, loopback, "127.0.0.1"},
		{"header ipv6 zone dropped", "127.0.0.1:1", map[string]string{"X-Real-Ip": "fe80::1%eth0"}, loopback, "fe80::1"},
		{"header mapped address", "127.0.0.1:1", map[string]string{"X-Real-Ip": "::ffff:203.0.113.1"}, loopback, "203.0.113.1"},
		{"unparsable peer", "pipe", nil, loopback, "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if got := clientIP(r, tt.trusted); got != tt.want {
				t.Errorf("clientIP(%s, %v) = %q, want %q", tt.remote, tt.header, got, tt.want)
			}
		})
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:6060": true,
		"127.1.2.3:0":    true,
		"[::1]:6060":     true,
		"localhost:6060": true,
		"0.0.0.0:6060":   false,
		":6060":          false,
		"[::]:6060":      false,
		"192.0.2.1:80":   false,
		"example.org:80": false,
		"no-port":        false,
	} {
		if got := isLoopbackAddr(addr); got != want {
			t.Errorf("isLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	type tokens struct{ TokenStore }
	type recorder struct{ Recorder }
	tests := []struct {
		name string
		edit func(*Config, *Deps)
		ok   bool
	}{
		{"defaults", func(*Config, *Deps) {}, true},
		{"none on a public address", func(c *Config, _ *Deps) { c.Addr = "0.0.0.0:6060" }, false},
		{"none on a public address, allowed", func(c *Config, _ *Deps) {
			c.Addr, c.AllowAnonymousPublic = "0.0.0.0:6060", true
		}, true},
		{"token on a public address", func(c *Config, d *Deps) {
			c.Addr, c.Auth, d.Tokens = "0.0.0.0:6060", AuthToken, tokens{}
		}, true},
		{"token without a store", func(c *Config, _ *Deps) { c.Auth = AuthToken }, false},
		{"proxy on a public address", func(c *Config, _ *Deps) { c.Addr, c.Auth = "0.0.0.0:6060", AuthProxy }, true},
		{"proxy without a header", func(c *Config, _ *Deps) { c.Auth, c.ProxyHeader = AuthProxy, "" }, false},
		{"unknown auth", func(c *Config, _ *Deps) { c.Auth = "basic" }, false},
		{"zero max-body", func(c *Config, _ *Deps) { c.MaxBody = 0 }, false},
		{"zero max-events", func(c *Config, _ *Deps) { c.MaxEvents = 0 }, false},
		{"negative rate", func(c *Config, _ *Deps) { c.Rate = -1 }, false},
		{"rate without burst", func(c *Config, _ *Deps) { c.Rate, c.RateBurst = 1, 0 }, false},
		{"rate off", func(c *Config, _ *Deps) { c.Rate, c.RateBurst = 0, 0 }, true},
		{"no recorder", func(_ *Config, d *Deps) { d.Recorder = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, deps := DefaultConfig(), Deps{Recorder: recorder{}}
			tt.edit(&cfg, &deps)
			if err := checkConfig(cfg, deps); (err == nil) != tt.ok {
				t.Errorf("checkConfig = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParseIPForms(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.5":          "203.0.113.5",
		" 203.0.113.5 ":        "203.0.113.5",
		"203.0.113.5:5555":     "203.0.113.5",
		"[2001:db8::1]:443":    "2001:db8::1",
		"[2001:db8::1]":        "2001:db8::1",
		"::ffff:198.51.100.2":  "198.51.100.2",
		"not-an-ip":            "",
		"203.0.113.5:notaport": "",
	} {
		ip, ok := parseIP(in)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != want {
			t.Errorf("parseIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for peer, want := range map[string]int{"127.0.0.1:4000": 204, "[::1]:4000": 204, "192.0.2.1:4000": 403, "[2001:db8::1]:1": 403} {
		r := httptest.NewRequest(http.MethodPost, "/collect/", nil)
		r.RemoteAddr = peer
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("peer %s: status %d, want %d", peer, w.Code, want)
		}
	}
}
