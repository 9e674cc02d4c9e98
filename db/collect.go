package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
)

// ReceivedEvent is one event a collector received in a telemetry-events
// page. Props and Context are transit JSON-verbose text, as in audit_log.
type ReceivedEvent struct {
	BatchID    string
	InstanceID string
	ReceivedAt int64
	Name       string
	Type       string
	Source     string
	ProfileID  uuid.UUID
	TrackedAt  int64
	Props      string
	Context    string
}

// ReceivedBatch describes a stored telemetry-events page.
type ReceivedBatch struct {
	BatchID    string
	InstanceID string
	Version    string
	EventCount int
}

// StoreBatch stores a received page and its events in one transaction,
// unless a page with the same batch id was stored before: then it only
// counts the duplicate and reports dup = true.
func (d *DB) StoreBatch(ctx context.Context, b ReceivedBatch, events []ReceivedEvent) (dup bool, err error) {
	err = d.write(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, "SELECT seq FROM collect_batch WHERE batch_id = ?", b.BatchID).Scan(&seq)
		if err == nil {
			dup = true
			_, err = tx.ExecContext(ctx, "UPDATE collect_batch SET duplicates = duplicates + 1 WHERE seq = ?", seq)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO collect_batch
  (batch_id, instance_id, version, received_at, event_count) VALUES (?, ?, ?, ?, ?)`,
			b.BatchID, b.InstanceID, b.Version, d.nowMs(), len(events))
		if err != nil {
			return err
		}
		if seq, err = res.LastInsertId(); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO collect_event
  (batch_seq, name, type, source, profile_id, tracked_at, props, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range events {
			if _, err := stmt.ExecContext(ctx, seq, e.Name, e.Type, e.Source, e.ProfileID.String(),
				e.TrackedAt, e.Props, e.Context); err != nil {
				return err
			}
		}
		return nil
	})
	return dup, err
}

// StoreReport stores a received instance report; stats is its JSON text.
func (d *DB) StoreReport(ctx context.Context, instanceID, version string, stats []byte) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO collect_report (instance_id, version, received_at, stats)
  VALUES (?, ?, ?, ?)`, instanceID, version, d.nowMs(), string(stats))
		return err
	})
}

// Received calls fn for received events, in the order they arrived;
// limit 0 means all.
func (d *DB) Received(ctx context.Context, limit int, fn func(ReceivedEvent) error) error {
	q, args := withLimit(`SELECT b.batch_id, b.instance_id, b.received_at, e.name, e.type, e.source, e.profile_id,
  e.tracked_at, e.props, e.context
  FROM collect_event e JOIN collect_batch b ON b.seq = e.batch_seq ORDER BY e.seq`, nil, limit)
	return each(ctx, d, scanReceived, func(e *ReceivedEvent) error { return fn(*e) }, q, args...)
}

func scanReceived(s scanner) (ReceivedEvent, error) {
	var e ReceivedEvent
	var p string
	err := s.Scan(&e.BatchID, &e.InstanceID, &e.ReceivedAt, &e.Name, &e.Type, &e.Source, &p,
		&e.TrackedAt, &e.Props, &e.Context)
	if err == nil {
		e.ProfileID, err = uuid.Parse(p)
	}
	return e, err
}

// ReceivedReport is one stored instance report.
type ReceivedReport struct {
	InstanceID string
	Version    string
	ReceivedAt int64
	Stats      string // JSON
}

// Reports calls fn for received instance reports, oldest first.
func (d *DB) Reports(ctx context.Context, limit int, fn func(ReceivedReport) error) error {
	q, args := withLimit("SELECT instance_id, version, received_at, stats FROM collect_report ORDER BY seq", nil, limit)
	return each(ctx, d, func(s scanner) (ReceivedReport, error) {
		var r ReceivedReport
		err := s.Scan(&r.InstanceID, &r.Version, &r.ReceivedAt, &r.Stats)
		return r, err
	}, func(r *ReceivedReport) error { return fn(*r) }, q, args...)
}

// CollectStats counts stored pages, events and dropped duplicate pages.
func (d *DB) CollectStats(ctx context.Context) (batches, events, duplicates int64, err error) {
	err = d.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(event_count), 0), coalesce(sum(duplicates), 0)
  FROM collect_batch`).Scan(&batches, &events, &duplicates)
	return
}

// PruneReceived deletes the oldest received pages (with their events)
// until at most keep events remain; it returns the pages deleted. A
// pruned page's batch id is forgotten with it.
func (d *DB) PruneReceived(ctx context.Context, keep int64) (int64, error) {
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		var boundary int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM (
  SELECT seq, sum(event_count) OVER (ORDER BY seq DESC) AS kept FROM collect_batch)
  WHERE kept > ? ORDER BY seq DESC LIMIT 1`, keep).Scan(&boundary)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM collect_batch WHERE seq <= ?", boundary)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
