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
//
// New pages are pipelined: while a page is POSTed and its rows deleted
// (on the writer connection), the next page is read (on a reader
// connection, from just after the page in flight) and encoded, so the
// database and the encoder work at the same time on two cores. The next
// page's ledger entry is still written only once the page before it was
// accepted, and when a page fails the one read ahead is dropped unsent.
func (t *Task) ship(ctx context.Context, instance uuid.UUID, res *Result) error {
	unfinished, err := t.db.UnfinishedPages(ctx)
	if err != nil {
		return err
	}
	for _, e := range unfinished {
		if err := t.db.RetryPage(ctx, e.ID); err != nil {
			return err
		}
		p := &t.pages[0]
		if err := t.readRange(ctx, p, e.FirstSeq, e.LastSeq); err != nil {
			return err
		}
		if len(p.rows) == 0 {
			t.log.Warn("unfinished page has no rows left; closing it", "batch_id", e.BatchID)
			if err := t.db.GonePage(ctx, e.ID); err != nil {
				return err
			}
			continue
		}
		t.log.Info("re-sending unfinished page", "batch_id", e.BatchID, "rows", len(p.rows), "attempt", e.Attempts+1)
		body, err := p.enc.encode(t.cfg.Version, instance, p.rows)
		if err != nil {
			return err
		}
		if err := t.sendPage(ctx, e, p.rows, body, res); err != nil {
			return err
		}
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := t.readAhead(rctx, instance, &t.pages[0], 0, 0)
	for i := 1; ; i++ {
		p := <-next
		if p.err != nil {
			return p.err
		}
		if len(p.rows) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		first, last := &p.rows[0], &p.rows[len(p.rows)-1]
		e := db.LedgerEntry{BatchID: newBatchID(), FirstSeq: first.Seq, LastSeq: last.Seq}
		if e.ID, err = t.db.RecordPage(ctx, e.BatchID, e.FirstSeq, e.LastSeq); err != nil {
			return err
		}
		next = t.readAhead(rctx, instance, &t.pages[i%2], last.CreatedAt, last.Seq)
		if err := t.sendPage(ctx, e, p.rows, p.body, res); err != nil {
			cancel()
			<-next // the reader must be done with its buffer before ship returns
			return err
		}
	}
}

// pageBuf is one page being read, encoded and sent, with buffers kept
// from page to page. A run uses two in turn (see ship).
type pageBuf struct {
	enc  pageEncoder
	rows []db.Row
	body []byte
	err  error
}

// readAhead reads, in a goroutine, the page of rows after (createdAt,
// seq) (seq 0: the oldest) into p and encodes it; the channel yields p
// when done, with p.err set on failure and no rows at the end of the
// buffer.
func (t *Task) readAhead(ctx context.Context, instance uuid.UUID, p *pageBuf, createdAt, seq int64) <-chan *pageBuf {
	ch := make(chan *pageBuf, 1)
	go func() {
		p.rows, p.body, p.err = p.rows[:0], nil, nil
		p.err = t.db.ShipPage(ctx, createdAt, seq, t.cfg.BatchSize, func(r *db.Row) error {
			p.rows = append(p.rows, *r)
			return nil
		})
		if p.err == nil && len(p.rows) > 0 {
			p.body, p.err = p.enc.encode(t.cfg.Version, instance, p.rows)
		}
		ch <- p
	}()
	return ch
}

func (t *Task) readRange(ctx context.Context, p *pageBuf, first, last int64) error {
	p.rows = p.rows[:0]
	return t.db.TelemetryRange(ctx, first, last, func(r *db.Row) error {
		p.rows = append(p.rows, *r)
		return nil
	})
}

// sendPage POSTs the body of one page recorded in the ledger as e. On
// success the page's rows are deleted and e marked accepted, in one
// transaction; on failure e is marked failed and every row kept.
func (t *Task) sendPage(ctx context.Context, e db.LedgerEntry, rows []db.Row, body []byte, res *Result) error {
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
