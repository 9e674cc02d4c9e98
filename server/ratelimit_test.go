package server

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestRateLimiter(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newRateLimiter(2, 3, clk.now) // 2 a second, burst 3
	allow := func(key string, want bool) {
		t.Helper()
		if got := l.allow(key); got != want {
			t.Fatalf("allow(%q) at %v = %v, want %v", key, clk.t.Format("15:04:05.000"), got, want)
		}
	}
	// A new caller has the whole burst.
	allow("a", true)
	allow("a", true)
	allow("a", true)
	allow("a", false)
	allow("a", false) // a refused request costs nothing
	// Callers are independent.
	allow("b", true)
	// Half a second gives one token at 2/s.
	clk.t = clk.t.Add(500 * time.Millisecond)
	allow("a", true)
	allow("a", false)
	// A quarter second is half a token: not enough; another quarter is.
	clk.t = clk.t.Add(250 * time.Millisecond)
	allow("a", false)
	clk.t = clk.t.Add(250 * time.Millisecond)
	allow("a", true)
	// A long pause refills to the burst, not beyond.
	clk.t = clk.t.Add(time.Hour)
	allow("a", true)
	allow("a", true)
	allow("a", true)
	allow("a", false)
	// A clock that steps back does not add tokens or panic.
	clk.t = clk.t.Add(-time.Minute)
	allow("a", false)
}

func TestRateLimiterSweep(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newRateLimiter(1, 2, clk.now)
	for i := range 100 {
		l.allow(string(rune('a'+i%26)) + string(rune('0'+i/26)))
	}
	l.allow("busy")
	l.allow("busy")
	if got := len(l.buckets); got != 101 {
		t.Fatalf("%d buckets, want 101", got)
	}
	// After a minute every idle bucket has refilled and is dropped; the
	// caller asking now gets a fresh one, and behaves as before.
	clk.t = clk.t.Add(time.Minute + time.Second)
	if !l.allow("busy") {
		t.Fatal("busy caller refused after a minute")
	}
	if got := len(l.buckets); got != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", got)
	}
	// A bucket that is still refilling survives a sweep: at 0.01/s a
	// burst of 2 takes 200 s to refill, so a drained bucket is kept (and
	// still limits) after a minute.
	slow := newRateLimiter(0.01, 2, clk.now)
	slow.allow("x")
	slow.allow("x")
	clk.t = clk.t.Add(time.Minute + time.Second)
	if slow.allow("x") {
		t.Fatal("drained slow bucket allowed a request after 61 s (0.61 tokens)")
	}
	if _, ok := slow.buckets["x"]; !ok {
		t.Fatal("refilling bucket dropped by the sweep")
	}
}
