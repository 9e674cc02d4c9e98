package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
)

// Sources of audit_log rows.
const (
	SourceFrontend  = "frontend"
	SourceBackend   = "backend"
	SourceTelemetry = "telemetry"
)

// Row is one audit_log row. Props and Context hold transit JSON-verbose
// text, exactly as stored; times are epoch milliseconds UTC.
type Row struct {
	Seq        int64 // set by the database
	ID         uuid.UUID
	Name       string
	Type       string
	Source     string
	ProfileID  uuid.UUID
	IPAddr     string
	Props      string
	Context    string
	TrackedAt  int64
	CreatedAt  int64
	ArchivedAt sql.NullInt64
}

const rowColumns = "seq, id, name, type, source, profile_id, ip_addr, props, context, tracked_at, created_at, archived_at"

const insertRowSQL = `INSERT INTO audit_log
  (id, name, type, source, profile_id, ip_addr, props, context, tracked_at, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Insert stores rows in one transaction: all of them or, on error, none.
// Concurrent callers are grouped into shared transactions (group commit);
// Insert returns only after the transaction holding its rows committed.
//
// Telemetry rows never go back in time: a telemetry row's created_at is
// raised to the newest stored telemetry created_at when the clock says
// otherwise. Insertion order and time order of telemetry rows therefore
// agree, which lets the telemetry task ship and delete pages as ranges of
// seq.
func (d *DB) Insert(ctx context.Context, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		if err := checkRow(&rows[i]); err != nil {
			return err
		}
	}
	return d.ins.insert(ctx, rows)
}

func checkRow(r *Row) error {
	switch {
	case r.Name == "" || r.Type == "" || r.Source == "":
		return fmt.Errorf("db: row needs name, type and source")
	case r.Props == "" || r.Context == "":
		return fmt.Errorf("db: row needs props and context (use {} when empty)")
	case r.IPAddr == "":
		return fmt.Errorf("db: row needs ip_addr")
	}
	return nil
}

// insertTx writes rows with the prepared statement stmt inside tx.
func insertTx(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, rows []Row) error {
	var hwm int64 = -1 // newest telemetry created_at, read once per call
	for i := range rows {
		r := &rows[i]
		if r.Source == SourceTelemetry {
			if hwm < 0 {
				if err := tx.QueryRowContext(ctx,
					"SELECT coalesce(max(created_at), 0) FROM audit_log WHERE source = 'telemetry'").Scan(&hwm); err != nil {
					return err
				}
			}
			if r.CreatedAt < hwm {
				r.CreatedAt = hwm
			}
			hwm = r.CreatedAt
		}
		res, err := stmt.ExecContext(ctx, r.ID.String(), r.Name, r.Type, r.Source,
			r.ProfileID.String(), r.IPAddr, r.Props, r.Context, r.TrackedAt, r.CreatedAt)
		if err != nil {
			return err
		}
		if r.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// ListOptions selects rows for List.
type ListOptions struct {
	Source string // "" for every source
	Limit  int    // 0 for no limit
}

// List calls fn for stored rows, oldest first (by seq).
func (d *DB) List(ctx context.Context, opt ListOptions, fn func(Row) error) error {
	q := "SELECT " + rowColumns + " FROM audit_log"
	var args []any
	if opt.Source != "" {
		q += " WHERE source = ?"
		args = append(args, opt.Source)
	}
	q, args = withLimit(q+" ORDER BY seq", args, opt.Limit)
	return d.eachRow(ctx, func(r *Row) error { return fn(*r) }, q, args...)
}

func scanRow(s scanner) (Row, error) {
	var r Row
	var id, profile string
	err := s.Scan(&r.Seq, &id, &r.Name, &r.Type, &r.Source, &profile, &r.IPAddr,
		&r.Props, &r.Context, &r.TrackedAt, &r.CreatedAt, &r.ArchivedAt)
	if err != nil {
		return r, err
	}
	if r.ID, err = uuid.Parse(id); err != nil {
		return r, fmt.Errorf("db: row %d: id: %w", r.Seq, err)
	}
	if r.ProfileID, err = uuid.Parse(profile); err != nil {
		return r, fmt.Errorf("db: row %d: profile_id: %w", r.Seq, err)
	}
	return r, nil
}

// CountBySource returns the number of stored rows for each source present.
func (d *DB) CountBySource(ctx context.Context) (map[string]int64, error) {
	return d.counts(ctx, "SELECT source, count(*) FROM audit_log GROUP BY source")
}

// counts runs a query of (key, count) rows and returns them as a map.
func (d *DB) counts(ctx context.Context, q string, args ...any) (map[string]int64, error) {
	type count struct {
		k string
		n int64
	}
	out := map[string]int64{}
	err := each(ctx, d, func(s scanner) (count, error) {
		var c count
		err := s.Scan(&c.k, &c.n)
		return c, err
	}, func(c *count) error { out[c.k] = c.n; return nil }, q, args...)
	return out, err
}
