package db

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// mustOpenDB opens a fresh database file in a temp dir, closed at cleanup.
func mustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	d, err := Open(context.Background(), filepath.Join(tb.TempDir(), "tally.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func testRow(source, name string, createdAt int64) Row {
	return Row{ID: uuid.Must(uuid.NewV7()), Name: name, Type: "action", Source: source,
		IPAddr: "0.0.0.0", Props: "{}", Context: "{}", TrackedAt: createdAt, CreatedAt: createdAt}
}

func mustInsert(tb testing.TB, d *DB, rows ...Row) {
	tb.Helper()
	if err := d.Insert(context.Background(), rows); err != nil {
		tb.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "tally.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	id1, err := d.InstanceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	var fk int
	if err := d.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
	var sync int
	if err := d.r.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
		t.Fatalf("synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	id2, err := d.InstanceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 || id1 == uuid.Nil {
		t.Fatalf("instance id changed across restarts: %s then %s", id1, id2)
	}
	if _, err := Open(ctx, "file:x.db"); err == nil {
		t.Fatal("Open(file:x.db) succeeded; tally wants a plain path")
	}
}

func TestSchemaColumns(t *testing.T) {
	d := mustOpenDB(t)
	rows, err := d.r.Query("SELECT name, type, \"notnull\" FROM pragma_table_info('audit_log') ORDER BY cid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ string
		var nn int
		if err := rows.Scan(&name, &typ, &nn); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d", name, typ, nn))
	}
	want := []string{"seq INTEGER 0", "id TEXT 1", "name TEXT 1", "type TEXT 1", "source TEXT 1",
		"profile_id TEXT 1", "ip_addr TEXT 1", "props TEXT 1", "context TEXT 1",
		"tracked_at INTEGER 1", "created_at INTEGER 1", "archived_at INTEGER 0"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audit_log columns:\n got %v\nwant %v", got, want)
	}
}

// The telemetry queries must be answered from the (source, created_at) index.
func TestTelemetryQueriesUseIndex(t *testing.T) {
	d := mustOpenDB(t)
	for _, q := range []struct {
		name, sql string
		args      []any
		grouped   bool // a GROUP BY over the index range may sort
	}{
		{"count", countTelemetrySQL, nil, false},
		{"page", pageTelemetrySQL, []any{10}, false},
		{"gc boundary", gcBoundarySQL, []any{10}, false},
		{"gc delete", gcDeleteSQL, []any{1, 2}, false},
		{"gc age", gcAgeSQL, []any{1}, false},
		{"counters", countersSQL, []any{1}, true},
	} {
		t.Run(q.name, func(t *testing.T) {
			plan := explain(t, d, q.sql, q.args...)
			if !strings.Contains(plan, "audit_log__source__created_at__idx") {
				t.Fatalf("plan does not use the index:\n%s", plan)
			}
			if !q.grouped && strings.Contains(plan, "TEMP B-TREE") {
				t.Fatalf("plan sorts in a temp b-tree:\n%s", plan)
			}
		})
	}
}

// A page's range and its delete are rowid ranges, not index walks.
func TestPageRangeQueriesUseRowid(t *testing.T) {
	d := mustOpenDB(t)
	for name, q := range map[string]string{"range": rangeTelemetrySQL, "delete": deletePageSQL} {
		plan := explain(t, d, q, 1, 2)
		if !strings.Contains(plan, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s plan is not a rowid range:\n%s", name, plan)
		}
	}
}

func explain(t *testing.T, d *DB, q string, args ...any) string {
	t.Helper()
	rows, err := d.r.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

func TestInsertAndList(t *testing.T) {
	ctx := context.Background()
	d := mustOpenDB(t)
	a := testRow(SourceFrontend, "a", 1000)
	a.Props = `{"~:route":"x"}`
	a.IPAddr = "10.1.2.3"
	mustInsert(t, d, a, testRow(SourceTelemetry, "b", 2000), testRow(SourceBackend, "c", 3000))
	var got []Row
	if err := d.List(ctx, ListOptions{}, func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("List returned %d rows, want 3", len(got))
	}
	if g := got[0]; g.ID != a.ID || g.Props != a.Props || g.IPAddr != "10.1.2.3" || g.Seq >= got[1].Seq || g.ArchivedAt.Valid {
		t.Fatalf("first row = %+v", g)
	}
	got = got[:0]
	if err := d.List(ctx, ListOptions{Source: SourceBackend, Limit: 5}, func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "c" {
		t.Fatalf("List(backend) = %+v", got)
	}
	counts, err := d.CountBySource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[SourceFrontend] != 1 || counts[SourceTelemetry] != 1 || counts[SourceBackend] != 1 {
		t.Fatalf("CountBySource = %v", counts)
	}
}

func TestInsertIsAtomic(t *testing.T) {
	d := mustOpenDB(t)
	bad := testRow(SourceFrontend, "bad", 1)
	bad.Props = ""
	if err := d.Insert(context.Background(), []Row{testRow(SourceFrontend, "ok", 1), bad}); err == nil {
		t.Fatal("Insert accepted a row without props")
	}
	if n := countAll(t, d); n != 0 {
		t.Fatalf("%d rows stored after a failed insert, want 0", n)
	}
}

func countAll(t *testing.T, d *DB) int {
	t.Helper()
	var n int
	if err := d.r.QueryRow("SELECT count(*) FROM audit_log").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Concurrent inserts are grouped into shared transactions; none is lost or
// duplicated.
func TestInsertConcurrent(t *testing.T) {
	d := mustOpenDB(t)
	const workers, perWorker, rowsPer = 8, 50, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				rows := make([]Row, rowsPer)
				for j := range rows {
					rows[j] = testRow(SourceTelemetry, "e", 86400000)
				}
				if err := d.Insert(context.Background(), rows); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, want := countAll(t, d), workers*perWorker*rowsPer; got != want {
		t.Fatalf("stored %d rows, want %d", got, want)
	}
	var distinct int
	if err := d.r.QueryRow("SELECT count(DISTINCT id) FROM audit_log").Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if distinct != workers*perWorker*rowsPer {
		t.Fatalf("%d distinct ids, want %d", distinct, workers*perWorker*rowsPer)
	}
}

// A telemetry row never gets an earlier created_at than one stored before.
func TestTelemetryCreatedAtNeverDecreases(t *testing.T) {
	ctx := context.Background()
	d := mustOpenDB(t)
	day := int64(86400000)
	mustInsert(t, d, testRow(SourceTelemetry, "a", 5*day))
	mustInsert(t, d, testRow(SourceTelemetry, "b", 3*day), testRow(SourceFrontend, "c", 1*day))
	var got []int64
	d.List(ctx, ListOptions{}, func(r Row) error { got = append(got, r.CreatedAt); return nil })
	if want := []int64{5 * day, 5 * day, 1 * day}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("created_at = %v, want %v", got, want)
	}
}

func TestGCTelemetryCap(t *testing.T) {
	ctx := context.Background()
	d := mustOpenDB(t)
	day := int64(86400000)
	var rows []Row
	for i := 0; i < 10; i++ {
		rows = append(rows, testRow(SourceTelemetry, fmt.Sprint(i), day*int64(1+i/4)))
	}
	mustInsert(t, d, rows...)
	mustInsert(t, d, testRow(SourceFrontend, "audit", 0))
	res, err := d.GCTelemetry(ctx, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.ByCap != 7 {
		t.Fatalf("GC deleted %d by cap, want 7", res.ByCap)
	}
	var names []string
	d.List(ctx, ListOptions{}, func(r Row) error { names = append(names, r.Name); return nil })
	if got, want := strings.Join(names, ","), "7,8,9,audit"; got != want {
		t.Fatalf("rows left = %s, want %s", got, want)
	}
	if n, _ := d.GCDropped(ctx); n != 7 {
		t.Fatalf("GCDropped = %d, want 7", n)
	}
	if err := d.AckGCDropped(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.GCDropped(ctx); n != 2 {
		t.Fatalf("GCDropped after ack = %d, want 2", n)
	}
	res, err = d.GCTelemetry(ctx, 3, 0)
	if err != nil || res.Total() != 0 {
		t.Fatalf("second GC = %+v, %v; want nothing deleted", res, err)
	}
}

func TestGCTelemetryAge(t *testing.T) {
	ctx := context.Background()
	d := mustOpenDB(t)
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	day := int64(86400000)
	today := now.Truncate(24 * time.Hour).UnixMilli()
	mustInsert(t, d, testRow(SourceTelemetry, "old", today-10*day), testRow(SourceTelemetry, "new", today-day))
	mustInsert(t, d, testRow(SourceFrontend, "audit-old", today-100*day))
	res, err := d.GCTelemetry(ctx, 100, 5*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if res.ByAge != 1 || res.ByCap != 0 {
		t.Fatalf("GC = %+v, want 1 by age", res)
	}
	if got := countAll(t, d); got != 2 {
		t.Fatalf("%d rows left, want 2 (the new telemetry row and the audit row)", got)
	}
}

func TestLedgerAcceptDeletesExactlyThePage(t *testing.T) {
	ctx := context.Background()
	d := mustOpenDB(t)
	var rows []Row
	for i := 0; i < 5; i++ {
		rows = append(rows, testRow(SourceTelemetry, fmt.Sprint(i), 0))
	}
	rows = append(rows[:2], append([]Row{testRow(SourceFrontend, "audit", 0)}, rows[2:]...)...)
	mustInsert(t, d, rows...)
	var page []*Row
	if err := d.TelemetryPage(ctx, 3, func(r *Row) error { page = append(page, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 {
		t.Fatalf("page has %d rows, want 3", len(page))
	}
	first, last := page[0].Seq, page[2].Seq
	id, err := d.RecordPage(ctx, "b1", first, last)
	if err != nil {
		t.Fatal(err)
	}
	un, err := d.UnfinishedPages(ctx)
	if err != nil || len(un) != 1 || un[0].BatchID != "b1" || un[0].State != PagePending {
		t.Fatalf("UnfinishedPages = %+v, %v", un, err)
	}
	n, err := d.AcceptPage(ctx, un[0], PageResult{Status: 204, RowCount: 3, ByteSize: 10, SHA256: "x"})
	if err != nil || n != 3 {
		t.Fatalf("AcceptPage deleted %d, %v; want 3", n, err)
	}
	var names []string
	d.List(ctx, ListOptions{}, func(r Row) error { names = append(names, r.Name); return nil })
	if got, want := strings.Join(names, ","), "audit,3,4"; got != want {
		t.Fatalf("rows left = %s, want %s", got, want)
	}
	if un, _ := d.UnfinishedPages(ctx); len(un) != 0 {
		t.Fatalf("entry %d still unfinished: %+v", id, un)
	}
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mustInsert(t, d, testRow(SourceTelemetry, "a", 1), testRow(SourceFrontend, "b", 1))
	n, err := d.CountTelemetry(ctx)
	if err != nil || n != 1 {
		t.Fatalf("CountTelemetry = %d, %v; want 1", n, err)
	}
	if err := d.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	// A second in-memory database is a different one.
	d2, err := Open(ctx, Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if n, _ := d2.CountTelemetry(ctx); n != 0 {
		t.Fatalf("second in-memory database has %d rows, want 0", n)
	}
}

// Insert after Close fails with ErrClosed instead of waiting forever.
func TestInsertAfterClose(t *testing.T) {
	for i := 0; i < 50; i++ {
		d, err := Open(context.Background(), filepath.Join(t.TempDir(), "tally.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- d.Insert(context.Background(), []Row{testRow(SourceFrontend, "late", 1)}) }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Insert after Close = %v, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Insert after Close never returned")
		}
	}
}

// Several processes (here: goroutines with their own pools) opening a new
// file at once all end up with one migrated schema.
func TestConcurrentOpenOfANewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := Open(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			errs <- d.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
