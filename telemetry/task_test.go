package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/db/runlock"
	"tally/telemetry/audit"
	"tally/telemetry/blob"
	"tally/telemetry/value"
)

// endpoint is a real local HTTP endpoint that records what it receives
// and answers with a status chosen per request.
type endpoint struct {
	*httptest.Server
	mu      sync.Mutex
	batches []received
	reports []Report
	// answer returns the status for the n-th batch request (0-based);
	// nil means 204.
	answer       func(n int) int
	reportStatus int
	override     http.HandlerFunc // when set, handles every request instead
}

type received struct {
	batchID string
	body    map[string]string
	events  value.Vector
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	ep := &endpoint{}
	ep.Server = httptest.NewServer(http.HandlerFunc(ep.serve))
	t.Cleanup(ep.Close)
	return ep
}

func (ep *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	ep.mu.Lock()
	h := ep.override
	ep.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	data, _ := io.ReadAll(r.Body)
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &kind); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", 400)
		return
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if kind.Type == "telemetry-legacy-report" {
		var rep Report
		json.Unmarshal(data, &rep)
		ep.reports = append(ep.reports, rep)
		if ep.reportStatus != 0 {
			w.WriteHeader(ep.reportStatus)
			return
		}
		w.WriteHeader(204)
		return
	}
	var body map[string]string
	if err := json.Unmarshal(data, &body); err != nil {
		http.Error(w, "bad body", 400)
		return
	}
	v, err := blob.DecodeValue(body["events"])
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	n := len(ep.batches)
	ep.batches = append(ep.batches, received{batchID: r.Header.Get(BatchIDHeader), body: body, events: v.(value.Vector)})
	status := 204
	if ep.answer != nil {
		status = ep.answer(n)
	}
	w.WriteHeader(status)
	fmt.Fprint(w, "answer body")
}

func (ep *endpoint) counts() (batches, reports int) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.batches), len(ep.reports)
}

type fixture struct {
	d    *db.DB
	ep   *endpoint
	task *Task
	cfg  Config
	now  time.Time
}

func newFixture(t *testing.T, flags audit.Flags, mutate func(*Config)) *fixture {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "tally.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	f := &fixture{d: d, ep: newEndpoint(t), now: time.Date(2026, 6, 1, 15, 4, 5, 0, time.UTC)}
	d.Now = func() time.Time { return f.now }
	f.cfg = DefaultConfig()
	f.cfg.URI = f.ep.URL + "/"
	f.cfg.Flags = flags
	f.cfg.Version = "test-1"
	f.cfg.LockWait = 2 * time.Second
	if mutate != nil {
		mutate(&f.cfg)
	}
	if f.task, err = New(f.cfg, d, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// push stores n events through the audit logger with the task's flags.
func (f *fixture) push(t *testing.T, n int, name string) {
	t.Helper()
	l := &audit.Logger{Store: f.d, Flags: f.cfg.Flags, Now: func() time.Time { return f.now }}
	events := make([]audit.Event, n)
	for i := range events {
		ctx := &value.Map{}
		ctx.Append(value.K("browser"), "firefox")
		ctx.Append(value.K("email"), "someone@example.org")
		props := &value.Map{}
		props.Append(value.K("file-name"), "secret plans")
		events[i] = audit.Event{Name: fmt.Sprintf("%s-%d", name, i), Type: audit.TypeAction, Source: db.SourceFrontend,
			ProfileID: uuid.MustParse("3f1c0e4e-5b1a-4f7e-9c55-0a1b2c3d4e5f"), IPAddr: "203.0.113.9",
			Props: props, Context: ctx, TrackedAt: f.now, CreatedAt: f.now}
	}
	if err := l.Record(context.Background(), events); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T) Result {
	t.Helper()
	res, err := f.task.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) telemetryRows(t *testing.T) int64 {
	t.Helper()
	n, err := f.d.CountTelemetry(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tel() audit.Flags { return audit.Flags{Telemetry: true} }

func TestTelemetryDisabledSendsNothing(t *testing.T) {
	f := newFixture(t, audit.Flags{AuditLog: true}, nil)
	f.push(t, 3, "e")
	res := f.run(t)
	if b, r := f.ep.counts(); b != 0 || r != 0 {
		t.Fatalf("sent %d batches and %d reports with telemetry off", b, r)
	}
	if res.Err() != nil {
		t.Fatal(res.Err())
	}
}

func TestNoRowsNoBatch(t *testing.T) {
	f := newFixture(t, tel(), nil)
	res := f.run(t)
	if b, r := f.ep.counts(); b != 0 || r != 1 {
		t.Fatalf("sent %d batches and %d reports, want 0 and 1", b, r)
	}
	if !res.Reported || res.Err() != nil {
		t.Fatalf("result = %+v", res)
	}
}

func TestHappyPathSendsAndDeletes(t *testing.T) {
	f := newFixture(t, tel(), nil)
	f.push(t, 3, "e")
	res := f.run(t)
	if res.Err() != nil || res.Pages != 1 || res.Rows != 3 {
		t.Fatalf("result = %+v", res)
	}
	if n := f.telemetryRows(t); n != 0 {
		t.Fatalf("%d telemetry rows left, want 0", n)
	}
	got := f.ep.batches[0]
	if got.body["type"] != "telemetry-events" || got.body["version"] != "test-1" || len(got.events) != 3 {
		t.Fatalf("batch body = %v, %d events", got.body, len(got.events))
	}
	instance, _ := f.d.InstanceID(context.Background())
	if got.body["instance-id"] != instance.String() {
		t.Fatalf("instance-id = %q, want %s", got.body["instance-id"], instance)
	}
	if _, err := uuid.Parse(got.batchID); err != nil {
		t.Fatalf("batch id header %q: %v", got.batchID, err)
	}
	var entries []db.LedgerEntry
	f.d.Ledger(context.Background(), 0, func(e db.LedgerEntry) error { entries = append(entries, e); return nil })
	if len(entries) != 1 || entries[0].State != db.PageAccepted || entries[0].BatchID != got.batchID ||
		entries[0].RowCount.Int64 != 3 || len(entries[0].SHA256.String) != 64 || entries[0].Status.Int64 != 204 {
		t.Fatalf("ledger = %+v", entries)
	}
	// No duplicates after success.
	f.run(t)
	if b, _ := f.ep.counts(); b != 1 {
		t.Fatalf("%d batches after a second run, want still 1", b)
	}
}

// Each event is a map with exactly the keys of SPEC section 5, in order,
// and nothing personal.
func TestPayloadFieldsAndAnonymity(t *testing.T) {
	f := newFixture(t, audit.Flags{Telemetry: true}, nil)
	f.push(t, 2, "open-file")
	f.run(t)
	if len(f.ep.batches) != 1 {
		t.Fatalf("%d batches", len(f.ep.batches))
	}
	day := value.InstantOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	for i, x := range f.ep.batches[0].events {
		m := x.(*value.Map)
		var keys []string
		for _, e := range m.Entries {
			keys = append(keys, e.Key.(value.Keyword).Name)
		}
		if got, want := fmt.Sprint(keys), "[name type source tracked-at profile-id props context]"; got != want {
			t.Fatalf("event %d keys = %s, want %s", i, got, want)
		}
		want := &value.Map{}
		want.Append(value.K("name"), fmt.Sprintf("open-file-%d", i))
		want.Append(value.K("type"), "action")
		want.Append(value.K("source"), "telemetry")
		want.Append(value.K("tracked-at"), day)
		want.Append(value.K("profile-id"), uuid.MustParse("3f1c0e4e-5b1a-4f7e-9c55-0a1b2c3d4e5f"))
		want.Append(value.K("props"), &value.Map{})
		ctx := &value.Map{}
		ctx.Append(value.K("browser"), "firefox")
		want.Append(value.K("context"), ctx)
		if !value.Equal(m, want) {
			t.Fatalf("event %d = %v\nwant %v", i, m, want)
		}
	}
}

func TestFailureKeepsEveryRow(t *testing.T) {
	f := newFixture(t, tel(), nil)
	f.ep.answer = func(int) int { return 500 }
	f.push(t, 5, "e")
	res := f.run(t)
	var se *sendError
	if !errors.As(res.ShipErr, &se) || se.Status != 500 {
		t.Fatalf("ShipErr = %v, want status 500", res.ShipErr)
	}
	if n := f.telemetryRows(t); n != 5 {
		t.Fatalf("%d rows left after a failed send, want 5", n)
	}
	// The next run re-sends the same page under the same batch id.
	f.ep.answer = nil
	res = f.run(t)
	if res.Err() != nil || res.Rows != 5 {
		t.Fatalf("second run = %+v", res)
	}
	if a, b := f.ep.batches[0].batchID, f.ep.batches[1].batchID; a != b {
		t.Fatalf("re-sent page has batch id %s, first attempt %s", b, a)
	}
	if n := f.telemetryRows(t); n != 0 {
		t.Fatalf("%d rows left, want 0", n)
	}
}

func TestTimeoutAndConnectionErrorKeepRows(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.Timeout = 200 * time.Millisecond })
	block := make(chan struct{})
	f.ep.mu.Lock()
	f.ep.override = func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-block
	}
	f.ep.mu.Unlock()
	defer close(block)
	f.push(t, 2, "e")
	res := f.run(t)
	if res.ShipErr == nil || res.ReportErr == nil {
		t.Fatalf("result = %+v, want both sends to time out", res)
	}
	if n := f.telemetryRows(t); n != 2 {
		t.Fatalf("%d rows left, want 2", n)
	}
	f2 := newFixture(t, tel(), func(c *Config) { c.URI = "http://127.0.0.1:1/" })
	f2.push(t, 2, "e")
	if res := f2.run(t); res.ShipErr == nil || f2.telemetryRows(t) != 2 {
		t.Fatalf("connection refused: result %+v, rows %d", res, f2.telemetryRows(t))
	}
}

func TestAuditLogOnNoBatch(t *testing.T) {
	f := newFixture(t, audit.Flags{AuditLog: true, Telemetry: true}, nil)
	f.push(t, 3, "e")
	res := f.run(t)
	if b, r := f.ep.counts(); b != 0 || r != 1 {
		t.Fatalf("sent %d batches and %d reports, want 0 and 1", b, r)
	}
	if n := f.telemetryRows(t); n != 3 || res.Err() != nil {
		t.Fatalf("%d telemetry rows, err %v; want 3 untouched", n, res.Err())
	}
}

func TestBatchSizeOne(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.BatchSize = 1 })
	f.push(t, 3, "e")
	res := f.run(t)
	if b, _ := f.ep.counts(); b != 3 || res.Pages != 3 {
		t.Fatalf("%d batch requests, %d pages; want 3", b, res.Pages)
	}
	ids := map[string]bool{}
	for i, b := range f.ep.batches {
		if len(b.events) != 1 {
			t.Fatalf("batch %d has %d events", i, len(b.events))
		}
		name, _ := b.events[0].(*value.Map).GetKW("name")
		if name != fmt.Sprintf("e-%d", i) {
			t.Fatalf("batch %d holds %v: pages must go oldest first", i, name)
		}
		ids[b.batchID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("batch ids not distinct: %v", ids)
	}
}

func TestFailureOnSecondRequest(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.BatchSize = 1 })
	f.ep.answer = func(n int) int {
		if n == 1 {
			return 503
		}
		return 204
	}
	f.push(t, 3, "e")
	res := f.run(t)
	if res.Pages != 1 || res.ShipErr == nil {
		t.Fatalf("result = %+v, want 1 page then a failure", res)
	}
	if b, _ := f.ep.counts(); b != 2 {
		t.Fatalf("%d requests, want 2 (stop at the first failure)", b)
	}
	if n := f.telemetryRows(t); n != 2 {
		t.Fatalf("%d rows left, want 2", n)
	}
	f.ep.answer = nil
	res = f.run(t)
	if res.Err() != nil || res.Pages != 2 || f.telemetryRows(t) != 0 {
		t.Fatalf("next run = %+v, rows %d", res, f.telemetryRows(t))
	}
	if f.ep.batches[2].batchID != f.ep.batches[1].batchID {
		t.Fatal("the failed page was not re-sent first under its batch id")
	}
	var names []any
	for _, b := range f.ep.batches[2:] {
		n, _ := b.events[0].(*value.Map).GetKW("name")
		names = append(names, n)
	}
	if fmt.Sprint(names) != "[e-1 e-2]" {
		t.Fatalf("next run sent %v, want [e-1 e-2]", names)
	}
}

func TestGCCapKeepsNewest(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.GCCap = 4 })
	f.ep.answer = func(int) int { return 500 } // GC runs even when sending fails
	f.push(t, 10, "e")
	res := f.run(t)
	if res.GC.ByCap != 6 || res.ShipErr == nil {
		t.Fatalf("result = %+v, want 6 dropped by the cap and a failed send", res)
	}
	var names []string
	f.d.List(context.Background(), db.ListOptions{Source: db.SourceTelemetry}, func(r db.Row) error {
		names = append(names, r.Name)
		return nil
	})
	if got, want := fmt.Sprint(names), "[e-6 e-7 e-8 e-9]"; got != want {
		t.Fatalf("rows kept = %s, want %s", got, want)
	}
	if got := f.ep.reports[0].Stats.GCDropped; got != 6 {
		t.Fatalf("report gc-dropped-events = %d, want 6", got)
	}
	// The accepted report acknowledged the count.
	if n, _ := f.d.GCDropped(context.Background()); n != 0 {
		t.Fatalf("GCDropped after an accepted report = %d, want 0", n)
	}
}

func TestReportFailureDoesNotStopShipping(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.GCCap = 1 })
	f.ep.reportStatus = 500
	f.push(t, 3, "e")
	res := f.run(t)
	if res.ReportErr == nil || res.ShipErr != nil || res.Rows != 1 {
		t.Fatalf("result = %+v", res)
	}
	if n, _ := f.d.GCDropped(context.Background()); n != 2 {
		t.Fatalf("GCDropped after a failed report = %d, want 2 kept for the next report", n)
	}
}

func TestReportContents(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.PublicURI = "https://tally.example" })
	f.push(t, 2, "e")
	f.run(t)
	r := f.ep.reports[0]
	instance, _ := f.d.InstanceID(context.Background())
	if r.Type != "telemetry-legacy-report" || r.Version != "test-1" || r.InstanceID != instance.String() {
		t.Fatalf("report = %+v", r)
	}
	s := r.Stats
	if s.PublicURI != "https://tally.example" || s.CPUs < 1 || s.OSName == "" || s.GoVersion == "" || s.UserTZ == "" {
		t.Fatalf("stats = %+v", s)
	}
	if s.TotalEvents["telemetry"] != 2 || s.EventCounters["e-0"] != 1 || s.TotalAccumEvent != 2 {
		t.Fatalf("stats counts = %+v", s)
	}
}

func TestOneRunAtATime(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.LockWait = 300 * time.Millisecond })
	lock, err := runlock.Acquire(context.Background(), f.task.cfg.LockPath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.task.RunOnce(context.Background())
	if !errors.Is(err, runlock.ErrLocked) {
		t.Fatalf("RunOnce while locked = %v, want ErrLocked", err)
	}
	lock.Release()
	if _, err := f.task.RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce after release: %v", err)
	}
}

// Stop abandons a page in flight without deleting anything.
func TestStopAbandonsPageInFlight(t *testing.T) {
	f := newFixture(t, tel(), func(c *Config) { c.Interval = 10 * time.Millisecond; c.Jitter = 0 })
	started := make(chan struct{}, 1)
	f.ep.mu.Lock()
	f.ep.override = func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		if json.Valid(data) && r.Header.Get(BatchIDHeader) == "" {
			w.WriteHeader(204) // the report
			return
		}
		select {
		case started <- struct{}{}:
		default:
		}
		<-r.Context().Done() // hang until the client gives up
	}
	f.ep.mu.Unlock()
	f.push(t, 3, "e")
	f.task.Start(context.Background())
	<-started
	f.task.Stop()
	if n := f.telemetryRows(t); n != 3 {
		t.Fatalf("%d rows left after Stop, want 3", n)
	}
	un, err := f.d.UnfinishedPages(context.Background())
	if err != nil || len(un) != 1 || un[0].State != db.PageFailed {
		t.Fatalf("ledger after Stop = %+v, %v; want one failed page to re-send", un, err)
	}
}
