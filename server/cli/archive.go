package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"tally/db"
	"tally/telemetry/archive"
	"tally/telemetry/audit"
	"tally/telemetry/metrics"
)

// newArchiver checks the archive settings and builds the archiver.
func newArchiver(flags audit.Flags, uri, key string, timeout time.Duration, d *db.DB,
	log *slog.Logger, m *metrics.Metrics) (*archive.Archiver, error) {
	if flags.AuditLogArchive && uri == "" {
		return nil, errors.New("--archive-uri is required with enable-audit-log-archive")
	}
	return &archive.Archiver{DB: d, Flags: flags, URI: uri, Key: key,
		Timeout: timeout, Log: log.With("task", "archive"), Metrics: m}, nil
}

func runArchive(ctx context.Context, env Env, args []string) error {
	var c common
	var uri, key string
	var timeout time.Duration
	s := newSet(env, "archive")
	c.define(s)
	s.URI(&uri, "archive-uri", "", "audit-log archive endpoint")
	s.String(&key, "archive-key", "", "key sent to the archive endpoint")
	s.Duration(&timeout, "ship-timeout", 30*time.Second, "timeout of each send")
	if err := s.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(env.Stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	if !c.flags.AuditLogArchive {
		return errors.New("the audit-log-archive flag is off (--flags enable-audit-log-archive)")
	}
	return withDB(ctx, c.db, func(d *db.DB) error {
		a, err := newArchiver(c.flags, uri, key, timeout, d, log, nil)
		if err != nil {
			return err
		}
		res, err := a.RunOnce(ctx)
		fmt.Fprintf(env.Stdout, "archived %d\ndeleted %d\n", res.Archived, res.Deleted)
		return err
	})
}
