// Package db is tally's storage: one SQLite file opened with the pure-Go
// driver modernc.org/sqlite, migrated by goose from the embedded SQL files
// of package migrations.
//
// SQLite allows one writer at a time, so a DB keeps two pools: a writer
// pool of exactly one connection (every write transaction goes through it,
// BEGIN IMMEDIATE) and a reader pool beside it. Pragmas are in the DSN so
// that every pooled connection gets them.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"tally/db/runlock"
	"tally/migrations"
)

// BusyTimeout is how long a connection waits for a lock held by another
// connection or process before SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// DB is an open tally database file.
type DB struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // readers

	// Now is the clock; tests replace it. It must return UTC times.
	Now func() time.Time

	ins *inserter
}

// Memory is the path that opens a private in-memory database, for tests
// and embedding programs that need nothing kept: one connection serves
// writes and reads, there is no WAL, and the data is gone at Close.
const Memory = ":memory:"

// Open opens (creating it and its folder when needed) the database file at
// path, checks that WAL took, and applies every pending migration. The
// path Memory opens an in-memory database instead.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == Memory {
		return openMemory(ctx)
	}
	if path == "" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("db: %q: want a file path, or %s", path, Memory)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("db: %w", err)
		}
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	d := &DB{path: path, w: w, Now: func() time.Time { return time.Now().UTC() }}

	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("db: open %s: journal_mode is %q, want wal", path, mode)
	}
	// Two processes opening a new file at once (a ship beside a first
	// serve) must not both create the tables: migrations take a lock.
	lock, err := runlock.Acquire(ctx, runlock.Beside(path, "migrate"), BusyTimeout)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	err = migrate(ctx, w)
	lock.Release()
	if err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	d.r = r
	d.ins = newInserter(d)
	return d, nil
}

func openMemory(ctx context.Context) (*DB, error) {
	// One connection: each connection to ":memory:" is a database of its
	// own, so the writer must also be the only reader.
	w, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	d := &DB{path: Memory, w: w, r: w, Now: func() time.Time { return time.Now().UTC() }}
	d.ins = newInserter(d)
	return d, nil
}

// dsn builds the modernc DSN with tally's pragmas.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// migrate applies the embedded migrations with goose's provider API.
func migrate(ctx context.Context, w *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, w, migrations.FS)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return nil
}

// Migrate opens the file at path, applies pending migrations and closes
// it again; it reports the schema version reached.
func Migrate(ctx context.Context, path string) (int64, error) {
	d, err := Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return d.SchemaVersion(ctx)
}

// SchemaVersion returns the highest applied migration version.
func (d *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := d.r.QueryRowContext(ctx,
		"SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	return v, err
}

// Ready reports whether the database answers and is fully migrated.
func (d *DB) Ready(ctx context.Context) error {
	v, err := d.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	want, err := latestMigration()
	if err != nil {
		return err
	}
	if v < want {
		return fmt.Errorf("db: schema at version %d, want %d", v, want)
	}
	return nil
}

func latestMigration() (int64, error) {
	entries, err := migrations.FS.ReadDir(".")
	if err != nil {
		return 0, err
	}
	var max int64
	for _, e := range entries {
		var n int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &n); err == nil && n > max {
			max = n
		}
	}
	return max, nil
}

// Path returns the file the DB was opened on.
func (d *DB) Path() string { return d.path }

// Close stops the inserter, checkpoints the WAL into the main file and
// closes both pools.
func (d *DB) Close() error {
	if d.ins != nil {
		d.ins.stop()
	}
	var errs []error
	if d.path == Memory {
		return d.w.Close()
	}
	if d.r != nil {
		errs = append(errs, d.r.Close())
	}
	if _, err := d.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		errs = append(errs, fmt.Errorf("db: checkpoint: %w", err))
	}
	errs = append(errs, d.w.Close())
	return errors.Join(errs...)
}

// nowMs is the clock in epoch milliseconds.
func (d *DB) nowMs() int64 { return d.Now().UnixMilli() }

// write runs fn in one write transaction (BEGIN IMMEDIATE), committing
// when fn returns nil.
func (d *DB) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// InstanceID returns this install's id, making and keeping a random one on
// first use.
func (d *DB) InstanceID(ctx context.Context) (uuid.UUID, error) {
	var s string
	err := d.r.QueryRowContext(ctx, "SELECT value FROM server_prop WHERE key = 'instance-id'").Scan(&s)
	if err == nil {
		return uuid.Parse(s)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, err
	}
	err = d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO server_prop (key, value) VALUES ('instance-id', ?) ON CONFLICT (key) DO NOTHING",
			uuid.New().String())
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT value FROM server_prop WHERE key = 'instance-id'").Scan(&s)
	})
	if err != nil {
		return uuid.Nil, err
	}
	return uuid.Parse(s)
}
