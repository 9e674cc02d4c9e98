// Package cli is tally's command line (SPEC section 9): it parses each
// command's settings and wires the packages that do the work. main.go
// only calls Run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// Version is tally's version, reported in events and telemetry bodies.
var Version = "0.1.0"

// Env is what a command sees of the outside world; tests replace parts.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// OSEnv is the process's real environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":    {"run the service (the default command)", runServe},
		"migrate":  {"create or migrate a database file", runMigrate},
		"ship":     {"one telemetry run now: GC, report, ship", runShip},
		"archive":  {"one audit-log archive run now", runArchive},
		"events":   {"print stored rows as JSON lines", runEvents},
		"ledger":   {"print the shipping ledger as JSON lines", runLedger},
		"decode":   {"print a blob string or a telemetry body as JSON", runDecode},
		"collect":  {"run a telemetry receiving endpoint", runCollect},
		"received": {"print what a collector stored as JSON lines", runReceived},
		"tokens":   {"create, revoke and list access tokens", runTokens},
		"bench":    {"measure ingest, shipping, GC, start-up and memory on loopback", runBench},
	}
}

// errUsage marks an error that was already explained with usage text.
var errUsage = errors.New("usage")

// Run runs the command named by args[0] (serve when absent) and returns
// the process exit status.
func Run(ctx context.Context, env Env, args []string) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "--help" || name == "-h" {
		usage(env.Stdout)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "tally: unknown command %q\n", name)
		usage(env.Stderr)
		return 2
	}
	if err := cmd.run(ctx, env, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // the flag package printed the command's flags
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(env.Stderr, "tally %s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tally [command] [flags]   (tally COMMAND -h for a command's flags)")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

// newLogger builds the slog logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
