package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"tally/db"
	"tally/server"
	"tally/server/settings"
	"tally/telemetry"
	"tally/telemetry/archive"
	"tally/telemetry/audit"
	"tally/telemetry/collect"
	"tally/telemetry/metrics"
	"tally/telemetry/value"
)

// common are the settings several commands share.
type common struct {
	db        string
	flags     audit.Flags
	logLevel  string
	logFormat string
}

func (c *common) define(s *settings.Set) {
	s.String(&c.db, "db", "./data/tally.db", "the SQLite database file")
	s.Flags(&c.flags, `feature flags, Penpot style ("enable-telemetry disable-audit-log")`)
	s.String(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	s.String(&c.logFormat, "log-format", "text", "text or json")
}

// taskSettings are the telemetry task's settings (serve and ship).
type taskSettings struct {
	uri       string
	publicURI string
	timeout   time.Duration
	batchSize int
	gcCap     int64
	gcMaxAge  time.Duration
}

func (t *taskSettings) define(s *settings.Set) {
	s.URI(&t.uri, "telemetry-uri", "", "where telemetry is sent (serve: default its own /collect/)")
	s.Penpot("telemetry-uri", "PENPOT_TELEMETRY_URI")
	s.URI(&t.publicURI, "public-uri", "", "this instance's public URI, for the report")
	s.Penpot("public-uri", "PENPOT_PUBLIC_URI")
	s.Duration(&t.timeout, "ship-timeout", 30*time.Second, "timeout of each send")
	s.Int(&t.batchSize, "batch-size", 10000, "telemetry rows per page")
	s.Int64(&t.gcCap, "gc-cap", 100000, "most telemetry rows kept")
	s.Duration(&t.gcMaxAge, "gc-max-age", 0, "delete telemetry rows older than this (0: off)")
}

func (t *taskSettings) config(flags audit.Flags) telemetry.Config {
	cfg := telemetry.DefaultConfig()
	cfg.URI, cfg.PublicURI, cfg.Flags = t.uri, t.publicURI, flags
	cfg.Version, cfg.Timeout, cfg.BatchSize = Version, t.timeout, t.batchSize
	cfg.GCCap, cfg.GCMaxAge = t.gcCap, t.gcMaxAge
	return cfg
}

func (t *taskSettings) check() error {
	if t.batchSize <= 0 {
		return errors.New("--batch-size must be positive")
	}
	if t.gcCap < 0 {
		return errors.New("--gc-cap must not be negative")
	}
	if t.timeout <= 0 {
		return errors.New("--ship-timeout must be positive")
	}
	return nil
}

func runServe(ctx context.Context, env Env, args []string) error {
	var c common
	var t taskSettings
	scfg := server.DefaultConfig()
	var interval, jitter time.Duration
	var metricsAddr string
	var archiveURI, archiveKey string
	var archiveInterval time.Duration

	s := settings.New("serve", env.Stderr)
	s.Getenv = env.Getenv
	c.define(s)
	t.define(s)
	s.String(&scfg.Addr, "addr", scfg.Addr, "listen address")
	s.Duration(&interval, "ship-interval", 3*time.Hour, "time between telemetry runs")
	s.Duration(&jitter, "ship-jitter", 10*time.Second, "random delay added to each run")
	s.String(&scfg.Auth, "auth", scfg.Auth, "who callers are: none, token or proxy")
	s.String(&scfg.ProxyHeader, "proxy-header", scfg.ProxyHeader, "profile uuid header in proxy mode")
	s.Prefixes(&scfg.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128", "peers whose forwarding headers are trusted")
	s.Bool(&scfg.AllowAnonymousPublic, "allow-anonymous-public", false, "allow --auth none on a non-loopback address")
	s.String(&scfg.SharedKey, "shared-key", "", "key for push-backend-events (unset: the route answers 404)")
	s.Size(&scfg.MaxBody, "max-body", scfg.MaxBody, "largest request body")
	s.Int(&scfg.MaxEvents, "max-events", scfg.MaxEvents, "most events per request")
	s.Float(&scfg.Rate, "rate", scfg.Rate, "requests per second per caller (0: off)")
	s.Int(&scfg.RateBurst, "rate-burst", scfg.RateBurst, "burst of the per-caller rate")
	s.URI(&archiveURI, "archive-uri", "", "audit-log archive endpoint")
	s.String(&archiveKey, "archive-key", "", "key sent to the archive endpoint")
	s.Duration(&archiveInterval, "archive-interval", 5*time.Minute, "time between archive runs")
	s.String(&metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz here too (default: on --addr only)")
	if err := s.Parse(args); err != nil {
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	if interval <= 0 {
		return errors.New("--ship-interval must be positive")
	}
	if archiveInterval <= 0 {
		return errors.New("--archive-interval must be positive")
	}
	log, err := newLogger(env.Stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	scfg.Version = Version
	tuneGC(env)

	d, err := db.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer func() {
		if err := d.Close(); err != nil {
			log.Error("closing the database", "err", err)
		}
	}()
	// The instance id is made on first start and kept.
	if _, err := d.InstanceID(ctx); err != nil {
		return err
	}
	m := metrics.New(d)
	logger := &audit.Logger{Store: d, Flags: c.flags, OnStored: m.Stored, OnAccepted: m.Accepted}
	srv, err := server.New(scfg, server.Deps{
		Recorder: logger, Flags: c.flags, Ready: d, Tokens: d,
		Collect: &collect.Handler{DB: d, Log: log.With("component", "collect"), Keep: embeddedCollectorKeep},
		Logger:  log, Metrics: m,
	})
	if err != nil {
		return err
	}
	if t.uri == "" {
		t.uri = "http://" + srv.Addr() + "/collect/"
	}
	tcfg := t.config(c.flags)
	tcfg.Interval, tcfg.Jitter = interval, jitter
	task, err := telemetry.New(tcfg, d, log, m)
	if err != nil {
		return err
	}
	var arch *archive.Archiver
	if c.flags.AuditLogArchive || c.flags.AuditLogGC {
		// Checked before anything is stored or served. With only
		// audit-log-gc on, the periodic run deletes rows archived before.
		if arch, err = newArchiver(c.flags, archiveURI, archiveKey, t.timeout, d, log, m); err != nil {
			return err
		}
	}
	var mln net.Listener
	if metricsAddr != "" {
		if mln, err = net.Listen("tcp", metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", metricsAddr, err)
		}
	}

	// Stored before the first request is served: whoever sees the server
	// ready (/readyz) also sees this start's instance-start.
	if err := logger.Submit(ctx, instanceStart(c.flags, t.publicURI)); err != nil {
		log.Error("storing instance-start", "err", err)
	}

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve() }()
	var msrv *http.Server
	if mln != nil {
		msrv = &http.Server{Handler: srv.OpsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	attrs := []any{"addr", srv.Addr(), "db", c.db, "flags", c.flags.Enabled(),
		"auth", scfg.Auth, "telemetry_uri", t.uri, "version", Version}
	if mln != nil {
		attrs = append(attrs, "metrics_addr", mln.Addr().String())
	}
	log.Info("tally serving", attrs...)

	task.Start(ctx)
	if arch != nil {
		arch.Start(ctx, archiveInterval)
		defer arch.Stop()
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
		log.Error("server failed", "err", err)
	}
	// Stop accepting, let requests in flight finish, then stop the task
	// (a page in flight finishes or is abandoned without deletion); the
	// deferred Close checkpoints the WAL.
	shutCtx := context.WithoutCancel(ctx)
	if serr := srv.Shutdown(shutCtx); serr != nil {
		log.Error("http shutdown", "err", serr)
	}
	if msrv != nil {
		mctx, cancel := context.WithTimeout(shutCtx, scfg.ShutdownTimeout)
		msrv.Shutdown(mctx)
		cancel()
	}
	task.Stop()
	log.Info("stopped")
	return err
}

// embeddedCollectorKeep bounds the events serve's own collector keeps.
const embeddedCollectorKeep = 1_000_000

// instanceStart is the trigger event stored at every start.
func instanceStart(flags audit.Flags, publicURI string) audit.Event {
	fl := make(value.Vector, 0, 4)
	for _, f := range flags.Enabled() {
		fl = append(fl, value.K(f))
	}
	props := &value.Map{}
	props.Append(value.K("version"), Version)
	props.Append(value.K("flags"), value.Set(fl))
	props.Append(value.K("public-uri"), publicURI)
	return audit.Event{Name: "instance-start", Type: audit.TypeTrigger, Props: props}
}

// withDB opens the database file for a one-shot command.
func withDB(ctx context.Context, path string, fn func(*db.DB) error) error {
	d, err := db.Open(ctx, path)
	if err != nil {
		return err
	}
	err = fn(d)
	return errors.Join(err, d.Close())
}

// serveGCPercent is the GOGC serve runs with unless GOGC is set. Its live
// heap is a few MiB while ingest allocates a decoded value tree per
// request, so with Go's default of 100 the collector runs every few MiB of
// requests; 400 cuts that work by about four (ingest measured 15-25%
// faster with `tally bench`) for a heap of a few tens of MiB under load.
const serveGCPercent = 400

func tuneGC(env Env) {
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}
