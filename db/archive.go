package db

import (
	"context"
	"database/sql"
)

// The archive walks audit rows (source not telemetry) in seq order and
// stops at the first chunk the endpoint refuses, so every audit row below
// the archive cursor is archived. The cursor lets each chunk be read as a
// rowid range, with no extra index on audit_log.
const archiveCursorKey = "archive-cursor"

// UnarchivedRows returns up to limit audit rows not yet archived, oldest
// first. Telemetry rows are never among them.
func (d *DB) UnarchivedRows(ctx context.Context, limit int) ([]Row, error) {
	cursor, err := intProp(ctx, d.r, archiveCursorKey)
	if err != nil {
		return nil, err
	}
	var out []Row
	err = d.eachRow(ctx, func(r *Row) error { out = append(out, *r); return nil },
		"SELECT "+rowColumns+` FROM audit_log
  WHERE seq > ? AND archived_at IS NULL AND source <> 'telemetry' ORDER BY seq LIMIT ?`, cursor, limit)
	return out, err
}

// MarkArchived sets archived_at on exactly the rows with the given seqs
// (audit rows only) and moves the cursor past the last one, in one
// transaction. seqs must be ascending, as UnarchivedRows returns them.
func (d *DB) MarkArchived(ctx context.Context, seqs []int64) (int64, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx,
			"UPDATE audit_log SET archived_at = ? WHERE seq = ? AND source <> 'telemetry' AND archived_at IS NULL")
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := d.nowMs()
		for _, s := range seqs {
			res, err := stmt.ExecContext(ctx, now, s)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		cur, err := intProp(ctx, tx, archiveCursorKey)
		if err != nil {
			return err
		}
		return addProp(ctx, tx, archiveCursorKey, max(seqs[len(seqs)-1]-cur, 0))
	})
	return n, err
}

// DeleteArchived deletes archived audit rows (the audit-log GC); it never
// touches telemetry rows.
func (d *DB) DeleteArchived(ctx context.Context) (int64, error) {
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		// Every archived row is at or below the cursor: a rowid range.
		cursor, err := intProp(ctx, tx, archiveCursorKey)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_log
  WHERE seq <= ? AND archived_at IS NOT NULL AND source <> 'telemetry'`, cursor)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
