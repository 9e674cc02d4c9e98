package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"tally/db"
)

// BatchIDHeader carries a page's batch id; a tally collector deduplicates
// re-sent pages on it (Penpot's server ignores it).
const BatchIDHeader = "X-Tally-Batch-Id"

// ship sends the buffer page by page: first every unfinished page of the
// ledger (re-sent under its batch id), then new pages from the oldest row
// on, until the buffer is empty or a send fails.
func (t *Task) ship(ctx context.Context, instance uuid.UUID, res *Result) error {
	unfinished, err := t.db.UnfinishedPages(ctx)
	if err != nil {
		return err
	}
	for _, e := range unfinished {
		if err := t.db.RetryPage(ctx, e.ID); err != nil {
			return err
		}
		rows, err := t.readRange(ctx, e.FirstSeq, e.LastSeq)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			t.log.Warn("unfinished page has no rows left; closing it", "batch_id", e.BatchID)
			if err := t.db.GonePage(ctx, e.ID); err != nil {
				return err
			}
			continue
		}
		t.log.Info("re-sending unfinished page", "batch_id", e.BatchID, "rows", len(rows), "attempt", e.Attempts+1)
		if err := t.sendPage(ctx, instance, e, rows, res); err != nil {
			return err
		}
	}
	for ctx.Err() == nil {
		rows, err := t.readPage(ctx)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		e := db.LedgerEntry{BatchID: newBatchID(), FirstSeq: rows[0].Seq, LastSeq: rows[len(rows)-1].Seq}
		if e.ID, err = t.db.RecordPage(ctx, e.BatchID, e.FirstSeq, e.LastSeq); err != nil {
			return err
		}
		if err := t.sendPage(ctx, instance, e, rows, res); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (t *Task) readPage(ctx context.Context) ([]db.Row, error) {
	rows := make([]db.Row, 0, min(t.cfg.BatchSize, 1024))
	err := t.db.TelemetryPage(ctx, t.cfg.BatchSize, func(r *db.Row) error {
		rows = append(rows, *r)
		return nil
	})
	return rows, err
}

func (t *Task) readRange(ctx context.Context, first, last int64) ([]db.Row, error) {
	var rows []db.Row
	err := t.db.TelemetryRange(ctx, first, last, func(r *db.Row) error {
		rows = append(rows, *r)
		return nil
	})
	return rows, err
}

// sendPage encodes and POSTs one page recorded in the ledger as e. On
// success the page's rows are deleted and e marked accepted, in one
// transaction; on failure e is marked failed and every row kept.
func (t *Task) sendPage(ctx context.Context, instance uuid.UUID, e db.LedgerEntry, rows []db.Row, res *Result) error {
	body, err := t.enc.encode(t.cfg.Version, instance, rows)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(BatchIDHeader, e.BatchID)
	status, sendErr := post(ctx, t.client, t.cfg.URI, body, h)
	// The outcome is recorded even when ctx was cancelled meanwhile: an
	// accepted page must lose its rows, a failed one must be marked.
	wctx := context.WithoutCancel(ctx)
	if sendErr != nil {
		t.metrics.PageFailed()
		t.log.Error("telemetry page not accepted", "batch_id", e.BatchID, "rows", len(rows), "status", status, "err", sendErr)
		if err := t.db.FailPage(wctx, e.ID, status, sendErr.Error()); err != nil {
			return errors.Join(sendErr, err)
		}
		return sendErr
	}
	sum := sha256.Sum256(body)
	n, err := t.db.AcceptPage(wctx, e, db.PageResult{Status: status, RowCount: len(rows),
		ByteSize: len(body), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return err
	}
	res.Pages++
	res.Rows += n
	t.metrics.Shipped(n)
	t.log.Debug("telemetry page accepted", "batch_id", e.BatchID, "rows", n, "bytes", len(body), "status", status)
	return nil
}
