package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Every telemetry query below is answered from the (source, created_at)
// index; "oldest first" is (created_at, seq), and since telemetry
// created_at never decreases with seq (see Insert) that is seq order too.

const (
	countTelemetrySQL = `SELECT count(*) FROM audit_log WHERE source = 'telemetry'`
	pageTelemetrySQL  = `SELECT ` + rowColumns + ` FROM audit_log
  WHERE source = 'telemetry' ORDER BY created_at, seq LIMIT ?`
	// A page's range is read as a rowid range: "+source" keeps SQLite from
	// walking every telemetry entry of the (source, created_at) index for
	// it. Within a range, seq order is time order (see Insert).
	rangeTelemetrySQL = `SELECT ` + rowColumns + ` FROM audit_log
  WHERE seq BETWEEN ? AND ? AND +source = 'telemetry' ORDER BY seq`
	// Deleting an accepted page is the same rowid range.
	deletePageSQL = `DELETE FROM audit_log WHERE seq BETWEEN ? AND ? AND +source = 'telemetry'`
	// The newest row the cap GC deletes: the one just older than the
	// newest `limit` rows, found by walking the index backwards from the
	// newest end (no count of the whole buffer needed); none when at most
	// `limit` rows exist.
	gcBoundarySQL = `SELECT created_at, seq FROM audit_log
  WHERE source = 'telemetry' ORDER BY created_at DESC, seq DESC LIMIT 1 OFFSET ?`
	gcDeleteSQL = `DELETE FROM audit_log
  WHERE source = 'telemetry' AND (created_at, seq) <= (?, ?)`
	gcAgeSQL     = `DELETE FROM audit_log WHERE source = 'telemetry' AND created_at < ?`
	countersSQL  = `SELECT name, count(*) FROM audit_log WHERE source = 'telemetry' AND created_at >= ? GROUP BY name ORDER BY name`
	gcDroppedKey = "gc-dropped-events"
)

// CountTelemetry returns the number of buffered telemetry rows.
func (d *DB) CountTelemetry(ctx context.Context) (int64, error) {
	var n int64
	err := d.r.QueryRowContext(ctx, countTelemetrySQL).Scan(&n)
	return n, err
}

// TelemetryPage calls fn for the oldest limit telemetry rows, oldest first.
// Rows are streamed: memory does not grow with the page.
func (d *DB) TelemetryPage(ctx context.Context, limit int, fn func(*Row) error) error {
	return d.eachRow(ctx, fn, pageTelemetrySQL, limit)
}

// shipColumns are the columns a shipped event is made of, and created_at
// for the page cursor.
const shipColumns = "seq, name, type, source, profile_id, props, context, tracked_at, created_at"

const (
	shipFirstPageSQL = `SELECT ` + shipColumns + ` FROM audit_log
  WHERE source = 'telemetry' ORDER BY created_at, seq LIMIT ?`
	// After the row (c, s): first the rest of c's rows, then later ones;
	// two index ranges, (source, created_at = c, seq > s) and
	// (source, created_at > c), each read in index order.
	shipSameTimeSQL = `SELECT ` + shipColumns + ` FROM audit_log
  WHERE source = 'telemetry' AND created_at = ? AND seq > ? ORDER BY seq LIMIT ?`
	shipLaterSQL = `SELECT ` + shipColumns + ` FROM audit_log
  WHERE source = 'telemetry' AND created_at > ? ORDER BY created_at, seq LIMIT ?`
)

// ShipPage calls fn for up to limit telemetry rows, oldest first, that
// come after the row (createdAt, seq) in that order; seq 0 starts at the
// oldest row. It reads only what a shipped event needs: the rows have
// Seq, Name, Type, Source, ProfileID, Props, Context, TrackedAt and
// CreatedAt set, and fn gets the same *Row each time (copy what it
// keeps). Rows are streamed from the (source, created_at) index.
func (d *DB) ShipPage(ctx context.Context, createdAt, seq int64, limit int, fn func(*Row) error) error {
	var r Row
	var n int
	scan := func(q string, args ...any) error {
		rows, err := d.r.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var profile string
		for rows.Next() {
			if err := rows.Scan(&r.Seq, &r.Name, &r.Type, &r.Source, &profile, &r.Props, &r.Context,
				&r.TrackedAt, &r.CreatedAt); err != nil {
				return err
			}
			if r.ProfileID, err = uuid.Parse(profile); err != nil {
				return fmt.Errorf("db: row %d: profile_id: %w", r.Seq, err)
			}
			n++
			if err := fn(&r); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if seq <= 0 {
		return scan(shipFirstPageSQL, limit)
	}
	if err := scan(shipSameTimeSQL, createdAt, seq, limit); err != nil || n == limit {
		return err
	}
	return scan(shipLaterSQL, createdAt, limit-n)
}

// TelemetryRange calls fn for the telemetry rows whose seq is in
// [first, last], oldest first. Rows deleted meanwhile are simply absent.
func (d *DB) TelemetryRange(ctx context.Context, first, last int64, fn func(*Row) error) error {
	return d.eachRow(ctx, fn, rangeTelemetrySQL, first, last)
}

func (d *DB) eachRow(ctx context.Context, fn func(*Row) error, q string, args ...any) error {
	return each(ctx, d, scanRow, fn, q, args...)
}

// GCResult says what one telemetry GC run deleted.
type GCResult struct {
	ByAge int64 // rows older than the age limit
	ByCap int64 // oldest rows over the cap
}

// Total is the number of rows deleted.
func (g GCResult) Total() int64 { return g.ByAge + g.ByCap }

// GCTelemetry deletes telemetry rows older than maxAge (0: no age limit),
// then the oldest rows until at most limit remain, in one transaction. The
// deleted count is added to the gc-dropped-events counter that the
// instance report carries.
func (d *DB) GCTelemetry(ctx context.Context, limit int64, maxAge time.Duration) (GCResult, error) {
	var res GCResult
	err := d.write(ctx, func(tx *sql.Tx) error {
		if maxAge > 0 {
			r, err := tx.ExecContext(ctx, gcAgeSQL, d.Now().Add(-maxAge).UnixMilli())
			if err != nil {
				return err
			}
			res.ByAge, _ = r.RowsAffected()
		}
		var createdAt, seq int64
		err := tx.QueryRowContext(ctx, gcBoundarySQL, limit).Scan(&createdAt, &seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil {
			r, err := tx.ExecContext(ctx, gcDeleteSQL, createdAt, seq)
			if err != nil {
				return err
			}
			res.ByCap, _ = r.RowsAffected()
		}
		if res.Total() == 0 {
			return nil
		}
		return addProp(ctx, tx, gcDroppedKey, res.Total())
	})
	return res, err
}

// GCDropped returns how many telemetry rows the GC deleted since the last
// accepted instance report.
func (d *DB) GCDropped(ctx context.Context) (int64, error) {
	return intProp(ctx, d.r, gcDroppedKey)
}

// AckGCDropped subtracts n, the count an accepted report carried, from the
// gc-dropped-events counter (rows dropped meanwhile stay counted).
func (d *DB) AckGCDropped(ctx context.Context, n int64) error {
	if n == 0 {
		return nil
	}
	return d.write(ctx, func(tx *sql.Tx) error { return addProp(ctx, tx, gcDroppedKey, -n) })
}

// TelemetryCounters returns the number of telemetry rows by event name
// among rows created at or after since.
func (d *DB) TelemetryCounters(ctx context.Context, since time.Time) (map[string]int64, error) {
	return d.counts(ctx, countersSQL, since.UnixMilli())
}

type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func intProp(ctx context.Context, q queryer, key string) (int64, error) {
	var s string
	err := q.QueryRowContext(ctx, "SELECT value FROM server_prop WHERE key = ?", key).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

func addProp(ctx context.Context, tx *sql.Tx, key string, delta int64) error {
	cur, err := intProp(ctx, tx, key)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		"INSERT INTO server_prop (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key, strconv.FormatInt(max(cur+delta, 0), 10))
	return err
}
