// Package telemetry is the telemetry task (SPEC section 5): a goroutine
// owned by the server process, or one run of `tally ship`, that keeps the
// anonymous buffer under its cap, sends the instance report, and ships the
// buffered telemetry rows page by page in Penpot's wire format, deleting a
// page's rows only after the endpoint accepted it.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/db/runlock"
	"tally/telemetry/audit"
	"tally/telemetry/internal/httpclient"
	"tally/telemetry/metrics"
)

// Config is the task's configuration.
type Config struct {
	URI       string // where batches and reports are POSTed
	Version   string // server version, sent in every body
	PublicURI string // reported in the instance report
	Flags     audit.Flags
	Interval  time.Duration // between runs of the goroutine
	Jitter    time.Duration // random delay before each run (0: none)
	Timeout   time.Duration // per send
	BatchSize int           // rows per page
	GCCap     int64         // most telemetry rows kept
	GCMaxAge  time.Duration // 0: no age limit
	LockPath  string        // the run lock; default: the database path + ".ship.lock"
	LockWait  time.Duration // how long a run waits for the lock
}

// DefaultConfig returns SPEC section 9's defaults (URI left empty).
func DefaultConfig() Config {
	return Config{
		Version:   "dev",
		Flags:     audit.DefaultFlags(),
		Interval:  3 * time.Hour,
		Jitter:    10 * time.Second,
		Timeout:   30 * time.Second,
		BatchSize: 10000,
		GCCap:     100000,
		LockWait:  30 * time.Second,
	}
}

// Task runs the telemetry task. Create it with New.
type Task struct {
	cfg     Config
	db      *db.DB
	log     *slog.Logger
	metrics *metrics.Metrics
	client  *http.Client
	pages   [2]pageBuf // see ship

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a task over d. log and m may be nil.
func New(cfg Config, d *db.DB, log *slog.Logger, m *metrics.Metrics) (*Task, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.BatchSize <= 0 {
		return nil, errors.New("telemetry: batch size must be positive")
	}
	if cfg.GCCap < 0 {
		return nil, errors.New("telemetry: gc cap must not be negative")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LockPath == "" {
		if d.Path() == db.Memory {
			return nil, errors.New("telemetry: an in-memory database needs an explicit LockPath")
		}
		cfg.LockPath = runlock.Beside(d.Path(), "ship")
	}
	return &Task{cfg: cfg, db: d, log: log.With("task", "telemetry"), metrics: m, client: httpclient.New(cfg.Timeout)}, nil
}

// Result says what one run did.
type Result struct {
	GC        db.GCResult
	GCErr     error // why the GC failed
	Reported  bool  // the instance report was accepted
	ReportErr error // why it was not
	Pages     int   // pages accepted
	Rows      int64 // rows deleted after acceptance
	ShipErr   error // the failure that stopped shipping
}

// Err joins the run's failures: nil when the GC worked and every send
// was accepted.
func (r Result) Err() error { return errors.Join(r.GCErr, r.ReportErr, r.ShipErr) }

// RunOnce does one run now, with no jitter: GC, report, ship (SPEC
// section 5). It waits up to the configured time for the run lock. With
// telemetry off it does nothing. The error is about the run as a whole
// (the lock, the database); failed sends are in the Result.
func (t *Task) RunOnce(ctx context.Context) (Result, error) {
	var res Result
	if !t.cfg.Flags.Telemetry {
		return res, nil
	}
	lock, err := runlock.Acquire(ctx, t.cfg.LockPath, t.cfg.LockWait)
	if err != nil {
		return res, fmt.Errorf("telemetry: %w", err)
	}
	defer lock.Release()

	// A failed GC is logged and the run goes on: shipping also shrinks
	// the buffer, and the report should still go out.
	if res.GC, err = t.db.GCTelemetry(ctx, t.cfg.GCCap, t.cfg.GCMaxAge); err != nil {
		res.GCErr = fmt.Errorf("telemetry gc: %w", err)
		t.log.Error("telemetry gc failed", "err", err)
	}
	if n := res.GC.Total(); n > 0 {
		t.metrics.GC(n)
		t.log.Warn("gc dropped telemetry rows", "by_cap", res.GC.ByCap, "by_age", res.GC.ByAge, "cap", t.cfg.GCCap)
	}
	instance, err := t.db.InstanceID(ctx)
	if err != nil {
		return res, err
	}
	if err := t.sendReport(ctx, instance); err != nil {
		res.ReportErr = fmt.Errorf("instance report: %w", err)
		t.log.Error("instance report not accepted", "err", err)
	} else {
		res.Reported = true
	}
	if !t.cfg.Flags.AuditLog {
		res.ShipErr = t.ship(ctx, instance, &res)
	}
	if res.Err() == nil {
		t.metrics.RunSucceeded(time.Now())
	}
	t.log.Info("telemetry run done", "pages", res.Pages, "rows", res.Rows, "gc_dropped", res.GC.Total(),
		"report_ok", res.Reported, "err", res.Err())
	return res, nil
}

// Start runs the task every interval (plus jitter) until Stop or ctx ends.
// The first run comes one interval after Start.
func (t *Task) Start(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil {
		return
	}
	ctx, t.cancel = context.WithCancel(ctx)
	t.done = make(chan struct{})
	go t.loop(ctx, t.done)
}

// Stop ends the goroutine and waits for it. A page in flight is abandoned
// without deleting anything (it is re-sent by a later run); one whose
// answer already came is finished.
func (t *Task) Stop() {
	t.mu.Lock()
	cancel, done := t.cancel, t.done
	t.cancel = nil
	t.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (t *Task) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		wait := t.cfg.Interval
		if t.cfg.Jitter > 0 {
			wait += rand.N(t.cfg.Jitter)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if _, err := t.RunOnce(ctx); err != nil && ctx.Err() == nil {
			t.log.Error("telemetry run failed", "err", err)
		}
	}
}

// newBatchID makes a time-ordered batch id.
func newBatchID() string { return uuid.Must(uuid.NewV7()).String() }
