package loadtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/google/uuid"

	"tally/db"
)

// The yardsticks below do the storage work of ingest, shipping and the
// GC straight in SQLite — same file system, same schema (made by
// db.Open), same pragmas as tally's connections — with nothing else:
// no HTTP, no codecs, no ledger. They bound what tally can reach.

// OpenRaw opens one plain SQLite connection to a tally database file with
// tally's pragmas (WAL, synchronous NORMAL, busy timeout, foreign keys).
// The file must exist (db.Open makes and migrates it).
func OpenRaw(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", db.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	s, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	s.SetMaxOpenConns(1)
	s.SetMaxIdleConns(1)
	s.SetConnMaxLifetime(0)
	return s, nil
}

// CreateDB makes and migrates an empty tally database file at path.
func CreateDB(ctx context.Context, path string) error {
	d, err := db.Open(ctx, path)
	if err != nil {
		return err
	}
	return d.Close()
}

const insertSQL = `INSERT INTO audit_log
  (id, name, type, source, profile_id, ip_addr, props, context, tracked_at, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// RawInsert inserts n rows, cycling through rows (each with a fresh id,
// made before the clock starts), with one prepared statement in one
// transaction, and returns the time it took: the storage limit for
// ingest.
func RawInsert(ctx context.Context, path string, rows []db.Row, n int) (time.Duration, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	s, err := OpenRaw(path)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	start := time.Now()
	err = insertRows(ctx, s, n, func(i int) (string, *db.Row) { return ids[i], &rows[i%len(rows)] })
	return time.Since(start), err
}

func insertRows(ctx context.Context, s *sql.DB, n int, row func(i int) (string, *db.Row)) error {
	tx, err := s.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertSQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range n {
		id, r := row(i)
		if _, err := stmt.ExecContext(ctx, id, r.Name, r.Type, r.Source, r.ProfileID.String(), r.IPAddr,
			r.Props, r.Context, r.TrackedAt, r.CreatedAt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// FillTelemetry quickly inserts n telemetry rows into the file at path
// (one prepared statement, one transaction), cycling through rows, with
// created_at spread over the days before at, oldest first, as a buffer
// that grew over weeks would be. It prepares the GC benchmark.
func FillTelemetry(ctx context.Context, path string, rows []db.Row, n int, at time.Time) error {
	s, err := OpenRaw(path)
	if err != nil {
		return err
	}
	defer s.Close()
	const days = 30
	day := int64(24 * time.Hour / time.Millisecond)
	first := at.UTC().Truncate(24*time.Hour).UnixMilli() - days*day
	var r db.Row
	return insertRows(ctx, s, n, func(i int) (string, *db.Row) {
		r = rows[i%len(rows)]
		r.CreatedAt = first + int64(i)*days/int64(n)*day
		r.TrackedAt = r.CreatedAt
		return uuid.Must(uuid.NewV7()).String(), &r
	})
}

// RawPageDelete reads the telemetry rows of the file at path page by page
// (oldest first, the columns a shipped event is made of, into reused
// buffers) and deletes each page by its seq range (a rowid range, as
// tally deletes an accepted page) in a transaction of its own, until none
// is left: the storage limit for shipping. It returns the rows handled and
// the time taken.
func RawPageDelete(ctx context.Context, path string, pageSize int) (int64, time.Duration, error) {
	s, err := OpenRaw(path)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	var total int64
	start := time.Now()
	for {
		n, first, last, err := readPage(ctx, s, pageSize)
		if err != nil {
			return total, 0, err
		}
		if n == 0 {
			return total, time.Since(start), nil
		}
		tx, err := s.BeginTx(ctx, nil)
		if err != nil {
			return total, 0, err
		}
		if _, err := tx.ExecContext(ctx,
			"DELETE FROM audit_log WHERE seq BETWEEN ? AND ? AND +source = 'telemetry'", first, last); err != nil {
			tx.Rollback()
			return total, 0, err
		}
		if err := tx.Commit(); err != nil {
			return total, 0, err
		}
		total += int64(n)
	}
}

func readPage(ctx context.Context, s *sql.DB, pageSize int) (n int, first, last int64, err error) {
	rows, err := s.QueryContext(ctx, `SELECT seq, name, type, source, profile_id, props, context,
  tracked_at, created_at FROM audit_log
  WHERE source = 'telemetry' ORDER BY created_at, seq LIMIT ?`, pageSize)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	var (
		seq, tracked, created int64
		name, typ, source     sql.RawBytes
		profile, p, c         sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&seq, &name, &typ, &source, &profile, &p, &c, &tracked, &created); err != nil {
			return 0, 0, 0, err
		}
		if n == 0 {
			first = seq
		}
		last = seq
		n++
	}
	return n, first, last, rows.Err()
}

// RawGC deletes the oldest telemetry rows of the file at path until keep
// remain, with one DELETE statement in one transaction; the boundary row
// is found before the clock starts. It returns the rows deleted and the
// time the DELETE took: the storage limit for the GC.
func RawGC(ctx context.Context, path string, keep int64) (int64, time.Duration, error) {
	s, err := OpenRaw(path)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	var n int64
	if err := s.QueryRowContext(ctx, "SELECT count(*) FROM audit_log WHERE source = 'telemetry'").Scan(&n); err != nil {
		return 0, 0, err
	}
	if n <= keep {
		return 0, 0, nil
	}
	var boundary int64
	if err := s.QueryRowContext(ctx, `SELECT seq FROM audit_log WHERE source = 'telemetry'
  ORDER BY created_at, seq LIMIT 1 OFFSET ?`, n-keep-1).Scan(&boundary); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	tx, err := s.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM audit_log WHERE source = 'telemetry' AND seq <= ?", boundary)
	if err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	deleted, _ := res.RowsAffected()
	return deleted, d, nil
}

// CopyFile copies a closed database file (its WAL checkpointed away) so
// that two measurements can start from the same rows.
func CopyFile(dst, src string) error {
	if fi, err := os.Stat(src + "-wal"); err == nil && fi.Size() > 0 {
		return errors.New("loadtest: " + src + " has a non-empty WAL; close it first")
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// On disk before anything is timed: no write-back of the copy beside
	// the measurement.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
