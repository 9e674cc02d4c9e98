package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/server/settings"
	"tally/telemetry"
	"tally/telemetry/audit"
	"tally/telemetry/collect"
	"tally/telemetry/value"
)

func newSet(env Env, name string) *settings.Set {
	s := settings.New(name, env.Stderr)
	s.Getenv = env.Getenv
	return s
}

func runMigrate(ctx context.Context, env Env, args []string) error {
	var path string
	s := newSet(env, "migrate")
	s.String(&path, "db", "./data/tally.db", "the SQLite database file")
	if err := s.Parse(args); err != nil {
		return err
	}
	v, err := db.Migrate(ctx, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: schema version %d\n", path, v)
	return nil
}

func runShip(ctx context.Context, env Env, args []string) error {
	var c common
	var t taskSettings
	s := newSet(env, "ship")
	c.define(s)
	t.define(s)
	if err := s.Parse(args); err != nil {
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	if t.uri == "" {
		// The collector of a `tally serve` with default settings: with no
		// configuration nothing leaves the machine.
		t.uri = defaultShipURI
	}
	log, err := newLogger(env.Stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	return withDB(ctx, c.db, func(d *db.DB) error {
		task, err := telemetry.New(t.config(c.flags), d, log, nil)
		if err != nil {
			return err
		}
		res, err := task.RunOnce(ctx)
		if err != nil {
			return err
		}
		if !c.flags.Telemetry {
			fmt.Fprintln(env.Stdout, "telemetry is off: nothing sent")
			return nil
		}
		fmt.Fprintf(env.Stdout, "gc_deleted %d\nreport_accepted %t\npages_accepted %d\nrows_shipped %d\n",
			res.GC.Total(), res.Reported, res.Pages, res.Rows)
		return res.Err()
	})
}

// defaultShipURI is where `tally ship` sends when no URI is configured:
// the embedded collector of `tally serve` on its default address.
const defaultShipURI = "http://127.0.0.1:6060/collect/"

func runEvents(ctx context.Context, env Env, args []string) error {
	var path, source string
	var limit int
	s := newSet(env, "events")
	s.String(&path, "db", "./data/tally.db", "the SQLite database file")
	s.String(&source, "source", "", "only rows of this source (frontend, backend, telemetry)")
	s.Int(&limit, "limit", 0, "at most this many rows (0: all)")
	if err := s.Parse(args); err != nil {
		return err
	}
	return withDB(ctx, path, func(d *db.DB) error {
		w := bufio.NewWriter(env.Stdout)
		defer w.Flush()
		return d.List(ctx, db.ListOptions{Source: source, Limit: limit}, func(r db.Row) error {
			b, err := audit.RowJSON(r)
			if err != nil {
				return err
			}
			w.Write(b)
			return w.WriteByte('\n')
		})
	})
}

func runLedger(ctx context.Context, env Env, args []string) error {
	var path string
	var limit int
	s := newSet(env, "ledger")
	s.String(&path, "db", "./data/tally.db", "the SQLite database file")
	s.Int(&limit, "limit", 0, "only the newest N entries (0: all kept)")
	if err := s.Parse(args); err != nil {
		return err
	}
	return withDB(ctx, path, func(d *db.DB) error {
		enc := json.NewEncoder(env.Stdout)
		return d.Ledger(ctx, limit, func(e db.LedgerEntry) error {
			return enc.Encode(telemetry.LedgerJSON(e))
		})
	})
}

func runDecode(ctx context.Context, env Env, args []string) error {
	s := newSet(env, "decode")
	if err := s.Parse(args); err != nil {
		return err
	}
	rest := s.FlagSet().Args()
	var input []byte
	switch {
	case len(rest) == 0 || (len(rest) == 1 && rest[0] == "-"):
		b, err := io.ReadAll(env.Stdin)
		if err != nil {
			return err
		}
		input = b
	case len(rest) == 1:
		input = []byte(rest[0])
	default:
		return errors.New("give one blob string or body, or - for standard input")
	}
	out, err := collect.Decode(input)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", out)
	return err
}

func runCollect(ctx context.Context, env Env, args []string) error {
	var addr, path, level, format string
	s := newSet(env, "collect")
	s.String(&addr, "addr", "127.0.0.1:6061", "listen address")
	s.String(&path, "db", "./data/collect.db", "where received telemetry is stored")
	s.String(&level, "log-level", "info", "debug, info, warn or error")
	s.String(&format, "log-format", "text", "text or json")
	if err := s.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(env.Stderr, level, format)
	if err != nil {
		return err
	}
	return withDB(ctx, path, func(d *db.DB) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: &collect.Handler{DB: d, Log: log}, ReadHeaderTimeout: 10 * time.Second}
		log.Info("tally collector listening", "addr", ln.Addr().String(), "db", path)
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case <-ctx.Done():
		case err := <-errc:
			return err
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}

func runReceived(ctx context.Context, env Env, args []string) error {
	var path string
	var limit int
	var reports bool
	s := newSet(env, "received")
	s.String(&path, "db", "./data/collect.db", "a collect (or serve) database file")
	s.Int(&limit, "limit", 0, "at most this many (0: all)")
	s.Bool(&reports, "reports", false, "print the received instance reports instead of events")
	if err := s.Parse(args); err != nil {
		return err
	}
	return withDB(ctx, path, func(d *db.DB) error {
		w := bufio.NewWriter(env.Stdout)
		defer w.Flush()
		line := func(b []byte, err error) error {
			if err != nil {
				return err
			}
			w.Write(b)
			return w.WriteByte('\n')
		}
		if reports {
			return d.Reports(ctx, limit, func(r db.ReceivedReport) error { return line(collect.ReportJSON(r)) })
		}
		return d.Received(ctx, limit, func(e db.ReceivedEvent) error { return line(collect.ReceivedJSON(e)) })
	})
}

func runTokens(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errors.New("want: tokens create|revoke|list --db FILE …")
	}
	sub, args := args[0], args[1:]
	var path string
	s := newSet(env, "tokens "+sub)
	s.String(&path, "db", "./data/tally.db", "the SQLite database file")
	enc := json.NewEncoder(env.Stdout)
	switch sub {
	case "create":
		var profile string
		var ttl time.Duration
		s.String(&profile, "profile", "", "the profile uuid the token stands for")
		s.Duration(&ttl, "expires", 0, "lifetime (0: never expires)")
		if err := s.Parse(args); err != nil {
			return err
		}
		p, err := uuid.Parse(profile)
		if err != nil || len(profile) != 36 {
			return fmt.Errorf("--profile %q: want a uuid", profile)
		}
		return withDB(ctx, path, func(d *db.DB) error {
			t, secret, err := d.CreateToken(ctx, p, ttl)
			if err != nil {
				return err
			}
			out := tokenJSON(t)
			out["secret"] = secret
			return enc.Encode(out)
		})
	case "revoke":
		if err := s.Parse(args); err != nil {
			return err
		}
		rest := s.FlagSet().Args()
		if len(rest) != 1 {
			return errors.New("want: tokens revoke --db FILE ID")
		}
		return withDB(ctx, path, func(d *db.DB) error { return d.RevokeToken(ctx, rest[0]) })
	case "list":
		if err := s.Parse(args); err != nil {
			return err
		}
		return withDB(ctx, path, func(d *db.DB) error {
			ts, err := d.Tokens(ctx)
			if err != nil {
				return err
			}
			for _, t := range ts {
				if err := enc.Encode(tokenJSON(t)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return fmt.Errorf("unknown tokens command %q: want create, revoke or list", sub)
}

// tokenJSON is a token's public fields (never the secret or its hash).
func tokenJSON(t db.Token) map[string]any {
	out := map[string]any{"id": t.ID, "profile_id": t.ProfileID.String(),
		"created_at": value.Instant(t.CreatedAt).String(), "expires_at": nil}
	if t.ExpiresAt.Valid {
		out["expires_at"] = value.Instant(t.ExpiresAt.Int64).String()
	}
	if t.RevokedAt.Valid {
		out["revoked_at"] = value.Instant(t.RevokedAt.Int64).String()
	}
	return out
}
