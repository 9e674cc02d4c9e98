// Command tally collects usage events from a web frontend and from backend
// code, keeps a full audit log or an anonymous telemetry buffer in an
// embedded SQLite file, and ships the anonymous events in compressed
// batches to a telemetry endpoint in Penpot's wire format. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"tally/server/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.OSEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}
