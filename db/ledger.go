package db

import (
	"context"
	"database/sql"
)

// Ledger entry states.
const (
	PagePending  = "pending"  // recorded, POST not answered yet (or the process died)
	PageFailed   = "failed"   // the POST failed; the range is re-sent first next run
	PageAccepted = "accepted" // the endpoint took it; its rows are deleted
	PageGone     = "gone"     // nothing of the range was left to re-send
)

// LedgerKeep is how many ledger entries are kept.
const LedgerKeep = 1000

// LedgerEntry is one page of the shipping ledger.
type LedgerEntry struct {
	ID          int64
	BatchID     string
	FirstSeq    int64
	LastSeq     int64
	State       string
	Attempts    int64
	AttemptedAt int64
	AcceptedAt  sql.NullInt64
	Status      sql.NullInt64
	RowCount    sql.NullInt64
	ByteSize    sql.NullInt64
	SHA256      sql.NullString
	Error       sql.NullString
}

const ledgerColumns = "id, batch_id, first_seq, last_seq, state, attempts, attempted_at, accepted_at, status, row_count, byte_size, sha256, error"

func scanLedger(s scanner) (LedgerEntry, error) {
	var e LedgerEntry
	err := s.Scan(&e.ID, &e.BatchID, &e.FirstSeq, &e.LastSeq, &e.State, &e.Attempts, &e.AttemptedAt,
		&e.AcceptedAt, &e.Status, &e.RowCount, &e.ByteSize, &e.SHA256, &e.Error)
	return e, err
}

// UnfinishedPages returns the ledger entries still pending or failed,
// oldest first: the pages a run must re-send before taking new ones.
func (d *DB) UnfinishedPages(ctx context.Context) ([]LedgerEntry, error) {
	var out []LedgerEntry
	err := each(ctx, d, scanLedger, func(e *LedgerEntry) error { out = append(out, *e); return nil },
		"SELECT "+ledgerColumns+" FROM ship_ledger WHERE state IN ('pending', 'failed') ORDER BY id")
	return out, err
}

// RecordPage writes a new pending ledger entry for the page [first, last]
// under batchID, before the page is sent, and returns its id.
func (d *DB) RecordPage(ctx context.Context, batchID string, first, last int64) (int64, error) {
	var id int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO ship_ledger
  (batch_id, first_seq, last_seq, state, attempts, attempted_at) VALUES (?, ?, ?, 'pending', 1, ?)`,
			batchID, first, last, d.nowMs())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// RetryPage marks an unfinished entry as pending again for a new attempt.
func (d *DB) RetryPage(ctx context.Context, id int64) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ship_ledger SET state = 'pending',
  attempts = attempts + 1, attempted_at = ? WHERE id = ?`, d.nowMs(), id)
		return err
	})
}

// PageResult describes an answered POST of a page.
type PageResult struct {
	Status   int
	RowCount int
	ByteSize int
	SHA256   string
}

// AcceptPage deletes the telemetry rows of the page [first, last] and marks
// its ledger entry accepted, in one transaction; it returns the number of
// rows deleted. It also trims the ledger to its last LedgerKeep entries.
func (d *DB) AcceptPage(ctx context.Context, e LedgerEntry, r PageResult) (int64, error) {
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			deletePageSQL, e.FirstSeq, e.LastSeq)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `UPDATE ship_ledger SET state = 'accepted', accepted_at = ?,
  status = ?, row_count = ?, byte_size = ?, sha256 = ?, error = NULL WHERE id = ?`,
			d.nowMs(), r.Status, r.RowCount, r.ByteSize, r.SHA256, e.ID)
		if err != nil {
			return err
		}
		return trimLedger(ctx, tx)
	})
	return n, err
}

// FailPage records that the POST of a page failed; the page stays in the
// buffer and is re-sent first by the next run.
func (d *DB) FailPage(ctx context.Context, id int64, status int, reason string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		var st any
		if status > 0 {
			st = status
		}
		_, err := tx.ExecContext(ctx,
			"UPDATE ship_ledger SET state = 'failed', status = ?, error = ? WHERE id = ?", st, reason, id)
		return err
	})
}

// GonePage closes an unfinished entry whose rows were all removed by the
// GC before they could be re-sent.
func (d *DB) GonePage(ctx context.Context, id int64) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"UPDATE ship_ledger SET state = 'gone', row_count = 0, error = 'rows removed by the GC before re-send' WHERE id = ?", id)
		if err != nil {
			return err
		}
		return trimLedger(ctx, tx)
	})
}

func trimLedger(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM ship_ledger WHERE state IN ('accepted', 'gone')
  AND id <= (SELECT max(id) FROM ship_ledger) - ?`, LedgerKeep)
	return err
}

// Ledger calls fn for the newest limit ledger entries (0: all), oldest first.
func (d *DB) Ledger(ctx context.Context, limit int, fn func(LedgerEntry) error) error {
	q := "SELECT " + ledgerColumns + " FROM ship_ledger ORDER BY id"
	var args []any
	if limit > 0 {
		q = "SELECT * FROM (SELECT " + ledgerColumns + " FROM ship_ledger ORDER BY id DESC LIMIT ?) ORDER BY id"
		args = append(args, limit)
	}
	return each(ctx, d, scanLedger, func(e *LedgerEntry) error { return fn(*e) }, q, args...)
}
