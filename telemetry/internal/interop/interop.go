// Package interop decides what a test does when a reference
// implementation (the JVM fressian library, transit-js) is missing: it
// skips with the reason, or, when TALLY_REQUIRE_INTEROP is set (as .ci/run
// sets it), fails, so that CI can never pass by skipping the peers.
package interop

import (
	"fmt"
	"os"
	"testing"
)

// Required reports whether missing reference tools are a failure.
func Required() bool { return os.Getenv("TALLY_REQUIRE_INTEROP") != "" }

// Missing skips the test with the formatted reason, or fails it when
// interop is required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (TALLY_REQUIRE_INTEROP is set)", msg)
	}
	t.Skip(msg)
}
