package fressian_test

import (
	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

// streamPage resets e and streams page into it.
func streamPage(e *fressian.Encoder, page value.Vector) {
	e.Reset()
	if err := fresstest.StreamPage(e, page); err != nil {
		panic(err)
	}
}
