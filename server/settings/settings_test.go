package settings

import (
	"io"
	"strings"
	"testing"
	"time"

	"tally/telemetry/audit"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1MiB", 1 << 20, true},
		{"2MB", 2000000, true},
		{"1 MiB", 1 << 20, true},
		{"-1", 0, false},
		{"lots", 0, false},
		{"1.5MiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPrecedence(t *testing.T) {
	env := map[string]string{}
	newSet := func() (*Set, *audit.Flags, *string, *time.Duration) {
		s := New("serve", io.Discard)
		s.Getenv = func(k string) string { return env[k] }
		var f audit.Flags
		var uri string
		var d time.Duration
		s.Flags(&f, "flags")
		s.URI(&uri, "telemetry-uri", "", "uri")
		s.Penpot("telemetry-uri", "PENPOT_TELEMETRY_URI")
		s.Duration(&d, "ship-interval", 3*time.Hour, "interval")
		return s, &f, &uri, &d
	}
	s, f, uri, d := newSet()
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *f != audit.DefaultFlags() || *uri != "" || *d != 3*time.Hour {
		t.Fatalf("defaults = %+v %q %v", *f, *uri, *d)
	}
	env["PENPOT_FLAGS"] = "enable-audit-log disable-telemetry"
	env["PENPOT_TELEMETRY_URI"] = "http://127.0.0.1:9/p"
	s, f, uri, _ = newSet()
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *f != (audit.Flags{AuditLog: true}) || *uri != "http://127.0.0.1:9/p" {
		t.Fatalf("PENPOT_ values not used: %+v %q", *f, *uri)
	}
	env["TALLY_FLAGS"] = "enable-audit-log"
	env["TALLY_TELEMETRY_URI"] = "http://127.0.0.1:9/t"
	s, f, uri, _ = newSet()
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *f != (audit.Flags{AuditLog: true, Telemetry: true}) || *uri != "http://127.0.0.1:9/t" {
		t.Fatalf("TALLY_ values must win over PENPOT_ ones and apply on the defaults: %+v %q", *f, *uri)
	}
	s, f, _, _ = newSet()
	if err := s.Parse([]string{"--flags", "disable-telemetry"}); err != nil {
		t.Fatal(err)
	}
	if *f != (audit.Flags{}) {
		t.Fatalf("--flags must win: %+v", *f)
	}
}

func TestBadValuesNameTheSetting(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--ship-interval", "soon"}, nil, "ship-interval"},
		{nil, map[string]string{"TALLY_SHIP_INTERVAL": "soon"}, "TALLY_SHIP_INTERVAL"},
		{nil, map[string]string{"PENPOT_FLAGS": "telemetry"}, "PENPOT_FLAGS"},
		{[]string{"--telemetry-uri", "ftp://x"}, nil, "telemetry-uri"},
		{[]string{"--max-body", "huge"}, nil, "max-body"},
	}
	for _, tt := range tests {
		var b strings.Builder
		s := New("serve", &b)
		s.Getenv = func(k string) string { return tt.env[k] }
		var f audit.Flags
		var d time.Duration
		var uri string
		var size int64
		s.Flags(&f, "flags")
		s.Duration(&d, "ship-interval", time.Hour, "")
		s.URI(&uri, "telemetry-uri", "", "")
		s.Size(&size, "max-body", 1<<20, "")
		err := s.Parse(tt.args)
		if err == nil {
			t.Errorf("Parse(%v, %v) succeeded", tt.args, tt.env)
			continue
		}
		if msg := err.Error() + b.String(); !strings.Contains(msg, tt.want) {
			t.Errorf("error %q does not name %s", msg, tt.want)
		}
	}
}
