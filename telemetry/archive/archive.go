// Package archive is the audit-log lifecycle (SPEC section 7): with the
// audit-log-archive flag, full audit rows are sent oldest first, in chunks,
// to an archive endpoint as transit and marked archived once it answers
// 204; with audit-log-gc, archived rows are then deleted. Telemetry rows
// are never archived and never deleted here.
package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"tally/db"
	"tally/db/runlock"
	"tally/telemetry/audit"
	"tally/telemetry/internal/httpclient"
	"tally/telemetry/metrics"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// ChunkSize is how many rows one archive request carries.
const ChunkSize = 128

// Archiver sends audit rows to the archive endpoint.
type Archiver struct {
	DB      *db.DB
	Flags   audit.Flags
	URI     string
	Key     string
	Client  *http.Client // nil: a sender client with Timeout (see httpclient.New)
	Timeout time.Duration
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// LockWait is how long a run waits for another run on the same
	// file to finish (0: 30s).
	LockWait time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Result says what one run did.
type Result struct {
	Archived int64 // rows marked archived
	Deleted  int64 // archived rows deleted by the GC
}

// RunOnce archives every unarchived audit row, chunk by chunk, stopping at
// the first chunk not answered 204; then, with audit-log-gc on, deletes
// archived rows whether or not the archive step failed.
//
// Only one run at a time works on a database file, also across processes
// (serve's archiver beside `tally archive`): a run waits up to LockWait for
// the lock beside the file, so no chunk is sent twice by two runs.
func (a *Archiver) RunOnce(ctx context.Context) (Result, error) {
	var res Result
	if a.DB.Path() != db.Memory {
		wait := a.LockWait
		if wait <= 0 {
			wait = 30 * time.Second
		}
		lock, err := runlock.Acquire(ctx, runlock.Beside(a.DB.Path(), "archive"), wait)
		if err != nil {
			return res, fmt.Errorf("archive: %w", err)
		}
		defer lock.Release()
	}
	var errs []error
	if a.Flags.AuditLogArchive {
		n, err := a.archive(ctx)
		res.Archived = n
		errs = append(errs, err)
	}
	if a.Flags.AuditLogGC {
		n, err := a.DB.DeleteArchived(ctx)
		res.Deleted = n
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

func (a *Archiver) archive(ctx context.Context) (int64, error) {
	if a.URI == "" {
		return 0, errors.New("archive: no --archive-uri configured")
	}
	var total int64
	for {
		rows, err := a.DB.UnarchivedRows(ctx, ChunkSize)
		if err != nil || len(rows) == 0 {
			return total, err
		}
		body, err := Encode(rows)
		if err != nil {
			return total, err
		}
		if err := a.send(ctx, body); err != nil {
			a.log().Error("archive chunk not accepted; stopping this run", "rows", len(rows), "err", err)
			return total, err
		}
		seqs := make([]int64, len(rows))
		for i, r := range rows {
			seqs[i] = r.Seq
		}
		n, err := a.DB.MarkArchived(context.WithoutCancel(ctx), seqs)
		total += n
		a.Metrics.Archived(int(n))
		if err != nil {
			return total, err
		}
	}
}

func (a *Archiver) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

func (a *Archiver) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URI, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/transit+json")
	req.Header.Set("X-Shared-Key", "tally "+a.Key)
	c := a.Client
	if c == nil {
		c = httpclient.New(a.Timeout)
		a.Client = c
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	prefix, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("archive endpoint answered %d (want 204): %q", resp.StatusCode, prefix)
	}
	return nil
}

// Encode builds the transit body {:events [...]} for rows, each event with
// the keys :type :name :source :created-at :tracked-at :profile-id
// :ip-addr :props :context.
func Encode(rows []db.Row) ([]byte, error) {
	events := make(value.Vector, len(rows))
	for i, r := range rows {
		props, err := transit.Decode([]byte(r.Props))
		if err != nil {
			return nil, fmt.Errorf("row %d props: %w", r.Seq, err)
		}
		ctx, err := transit.Decode([]byte(r.Context))
		if err != nil {
			return nil, fmt.Errorf("row %d context: %w", r.Seq, err)
		}
		m := value.NewMap(9)
		m.Append(value.K("type"), r.Type)
		m.Append(value.K("name"), r.Name)
		m.Append(value.K("source"), r.Source)
		m.Append(value.K("created-at"), value.Instant(r.CreatedAt))
		m.Append(value.K("tracked-at"), value.Instant(r.TrackedAt))
		m.Append(value.K("profile-id"), r.ProfileID)
		m.Append(value.K("ip-addr"), r.IPAddr)
		m.Append(value.K("props"), props)
		m.Append(value.K("context"), ctx)
		events[i] = m
	}
	body := &value.Map{}
	body.Append(value.K("events"), events)
	return transit.Encode(body)
}

// Start runs RunOnce every interval until Stop or ctx ends.
func (a *Archiver) Start(ctx context.Context, interval time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		return
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.done = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			res, err := a.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				a.log().Error("archive run failed", "archived", res.Archived, "deleted", res.Deleted, "err", err)
			} else if res.Archived+res.Deleted > 0 {
				a.log().Info("archive run done", "archived", res.Archived, "deleted", res.Deleted)
			}
		}
	}(a.done)
}

// Stop ends the periodic runs and waits for the one in progress.
func (a *Archiver) Stop() {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.cancel = nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
