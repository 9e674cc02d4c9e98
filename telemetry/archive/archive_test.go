package archive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/db/runlock"
	"tally/telemetry/archive"
	"tally/telemetry/audit"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// The archive clock: every row marked archived in these tests gets this
// archived_at.
var archivedAt = time.Date(2026, 5, 6, 7, 8, 9, 10e6, time.UTC)

func openDB(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "tally.db"))
	if err != nil {
		t.Fatalf("db.Open: %v", err)
	}
	d.Now = func() time.Time { return archivedAt }
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// request is one request the fake archive endpoint received.
type request struct {
	method, contentType, sharedKey string
	events                         value.Vector
}

// endpoint is a real HTTP archive endpoint on loopback. status says what
// it answers to its n-th request (from 1); every request is recorded,
// whatever it answered.
type endpoint struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	reqs   []request
	total  int // requests ever received
	status func(n int) int
}

func newEndpoint(t *testing.T, status func(n int) int) *endpoint {
	t.Helper()
	e := &endpoint{t: t, status: status}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		e.t.Errorf("endpoint: reading body: %v", err)
	}
	req := request{method: r.Method, contentType: r.Header.Get("Content-Type"),
		sharedKey: r.Header.Get("X-Shared-Key")}
	v, err := transit.Decode(body)
	if err != nil {
		e.t.Errorf("endpoint: body is not transit: %v\n%s", err, body)
	} else if m, ok := v.(*value.Map); !ok || m.Len() != 1 {
		e.t.Errorf("endpoint: body is %v, want a map with only :events", v)
	} else if ev, ok := m.GetKW("events"); !ok {
		e.t.Errorf("endpoint: body has no :events: %v", v)
	} else if req.events, ok = ev.(value.Vector); !ok {
		e.t.Errorf("endpoint: :events is %T, want a vector", ev)
	}
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	e.total++
	n := e.total
	e.mu.Unlock()
	w.WriteHeader(e.status(n))
}

// requests returns what was received so far and forgets it.
func (e *endpoint) requests() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.reqs
	e.reqs = nil
	return r
}

func always(code int) func(int) int { return func(int) int { return code } }

// failOn answers code to the n-th request and 204 to every other.
func failOn(n, code int) func(int) int {
	return func(i int) int {
		if i == n {
			return code
		}
		return http.StatusNoContent
	}
}

func newArchiver(d *db.DB, url string, flags audit.Flags) *archive.Archiver {
	return &archive.Archiver{DB: d, Flags: flags, URI: url, Key: "k3y",
		Timeout: 10 * time.Second, Log: slog.New(slog.DiscardHandler)}
}

var (
	archiveOnly = audit.Flags{AuditLogArchive: true}
	allFlags    = audit.Flags{AuditLog: true, Telemetry: true, AuditLogArchive: true, AuditLogGC: true}
	profile     = uuid.MustParse("3f1c0b7e-2a64-4c1e-9d3b-6e2f7a8b9c01")
	fileID      = uuid.MustParse("a0e1b2c3-d4e5-4f60-8172-839405a6b7c8")
	base        = time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)
)

func kmap(kv ...value.Value) *value.Map {
	m := &value.Map{}
	for i := 0; i < len(kv); i += 2 {
		m.Append(kv[i], kv[i+1])
	}
	return m
}

// event i: alternately frontend and backend, with props and context of
// every type the archive must carry through (uuid, keyword, instant,
// nested collections).
func event(i int) audit.Event {
	src := db.SourceFrontend
	if i%2 == 1 {
		src = db.SourceBackend
	}
	at := base.Add(time.Duration(i) * time.Second)
	return audit.Event{
		Name: fmt.Sprintf("ev-%03d", i), Type: audit.TypeAction, Source: src,
		ProfileID: profile, IPAddr: fmt.Sprintf("192.0.2.%d", i%250+1),
		Props: kmap(value.K("file-id"), fileID, value.K("n"), int64(i), value.K("kind"), value.K("pdf"),
			value.K("at"), value.InstantOf(at), value.K("tags"), value.Vector{"a", int64(1)}),
		Context:   kmap(value.K("browser"), "firefox", value.K("team"), kmap(value.K("id"), profile)),
		TrackedAt: at.Add(-time.Second),
		CreatedAt: at,
	}
}

// record stores events [from, to) with the given flags (audit-log on
// stores a full row per event; telemetry on an anonymous one beside it).
func record(t *testing.T, d *db.DB, flags audit.Flags, from, to int) {
	t.Helper()
	var evs []audit.Event
	for i := from; i < to; i++ {
		evs = append(evs, event(i))
	}
	l := &audit.Logger{Store: d, Flags: flags}
	if err := l.Record(context.Background(), evs); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func rows(t *testing.T, d *db.DB, source string) []db.Row {
	t.Helper()
	var out []db.Row
	err := d.List(context.Background(), db.ListOptions{Source: source}, func(r db.Row) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return out
}

// auditRows returns the frontend and backend rows, oldest first.
func auditRows(t *testing.T, d *db.DB) []db.Row {
	t.Helper()
	var out []db.Row
	for _, r := range rows(t, d, "") {
		if r.Source != db.SourceTelemetry {
			out = append(out, r)
		}
	}
	return out
}

// names returns the :name of every event sent in reqs, in order.
func names(reqs []request) []string {
	var out []string
	for _, r := range reqs {
		for _, e := range r.events {
			m, _ := e.(*value.Map)
			n, _ := m.GetKW("name")
			s, _ := n.(string)
			out = append(out, s)
		}
	}
	return out
}

func chunkSizes(reqs []request) []int {
	var out []int
	for _, r := range reqs {
		out = append(out, len(r.events))
	}
	return out
}

func wantNames(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("ev-%03d", i))
	}
	return out
}

func equalStrings(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// checkArchived checks that exactly the audit rows named ev-[from, to) are
// archived (at the archive clock), and no other row.
func checkArchived(t *testing.T, d *db.DB, from, to int) {
	t.Helper()
	for _, r := range rows(t, d, "") {
		var i int
		fmt.Sscanf(r.Name, "ev-%d", &i)
		want := r.Source != db.SourceTelemetry && i >= from && i < to
		if got := r.ArchivedAt.Valid; got != want {
			t.Errorf("row %d (%s, %s): archived = %t, want %t", r.Seq, r.Name, r.Source, got, want)
		} else if got && r.ArchivedAt.Int64 != archivedAt.UnixMilli() {
			t.Errorf("row %d: archived_at = %d, want %d", r.Seq, r.ArchivedAt.Int64, archivedAt.UnixMilli())
		}
	}
}

// TestArchiveSendsEveryRowInChunks: 300 audit rows (interleaved with
// telemetry rows) go out oldest first in chunks of 128, 128 and 44, each
// a transit {:events [...]} with the shared key; a 204 marks them
// archived, and a second run has nothing to send.
func TestArchiveSendsEveryRowInChunks(t *testing.T) {
	d := openDB(t)
	record(t, d, audit.Flags{AuditLog: true, Telemetry: true}, 0, 300)
	ep := newEndpoint(t, always(http.StatusNoContent))

	res, err := newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got, want := res, (archive.Result{Archived: 300}); got != want {
		t.Errorf("RunOnce = %+v, want %+v", got, want)
	}
	reqs := ep.requests()
	if got, want := fmt.Sprint(chunkSizes(reqs)), "[128 128 44]"; got != want {
		t.Errorf("chunk sizes = %s, want %s", got, want)
	}
	if got, want := names(reqs), wantNames(0, 300); !equalStrings(got, want) {
		t.Errorf("events sent in order %v,\nwant %v", got, want)
	}
	for i, r := range reqs {
		if r.method != http.MethodPost || r.contentType != "application/transit+json" || r.sharedKey != "tally k3y" {
			t.Errorf("request %d: %s, content-type %q, x-shared-key %q; want POST, application/transit+json, %q",
				i, r.method, r.contentType, r.sharedKey, "tally k3y")
		}
	}
	checkArchived(t, d, 0, 300)

	res, err = newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background())
	if err != nil || res != (archive.Result{}) {
		t.Errorf("second RunOnce = %+v, %v; want nothing to do", res, err)
	}
	if reqs := ep.requests(); len(reqs) != 0 {
		t.Errorf("second run sent %d requests, want none", len(reqs))
	}
}

// TestArchiveEventShape: each archived event is a map with exactly the
// keys of SPEC section 7, as keywords, with the row's values in their
// transit types (instants, uuids, maps that keep their own types).
func TestArchiveEventShape(t *testing.T) {
	d := openDB(t)
	record(t, d, audit.Flags{AuditLog: true}, 0, 2)
	ep := newEndpoint(t, always(http.StatusNoContent))
	if _, err := newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	reqs := ep.requests()
	if len(reqs) != 1 || len(reqs[0].events) != 2 {
		t.Fatalf("requests = %+v, want one chunk of 2 events", reqs)
	}
	stored := auditRows(t, d)
	for i, x := range reqs[0].events {
		m, ok := x.(*value.Map)
		if !ok {
			t.Fatalf("event %d is %T, want a map", i, x)
		}
		ev, r := event(i), stored[i]
		want := kmap(
			value.K("type"), "action",
			value.K("name"), ev.Name,
			value.K("source"), ev.Source,
			value.K("created-at"), value.InstantOf(ev.CreatedAt),
			value.K("tracked-at"), value.InstantOf(ev.TrackedAt),
			value.K("profile-id"), profile,
			value.K("ip-addr"), ev.IPAddr,
			value.K("props"), ev.Props,
			value.K("context"), ev.Context,
		)
		var keys []string
		for _, e := range m.Entries {
			k, ok := e.Key.(value.Keyword)
			if !ok {
				t.Errorf("event %d: key %#v is not a keyword", i, e.Key)
			}
			keys = append(keys, k.String())
		}
		if got, want := strings.Join(keys, " "),
			":type :name :source :created-at :tracked-at :profile-id :ip-addr :props :context"; got != want {
			t.Errorf("event %d keys = %s, want %s", i, got, want)
		}
		if !value.Equal(m, want) {
			t.Errorf("event %d =\n%v\nwant\n%v", i, m, want)
		}
		// The types themselves, not only equality: Equal would not tell an
		// instant from its epoch number if a codec widened it.
		for _, k := range []string{"created-at", "tracked-at"} {
			if v, _ := m.GetKW(k); fmt.Sprintf("%T", v) != "value.Instant" {
				t.Errorf("event %d :%s is %T, want value.Instant", i, k, v)
			}
		}
		if v, _ := m.GetKW("profile-id"); fmt.Sprintf("%T", v) != "uuid.UUID" {
			t.Errorf("event %d :profile-id is %T, want uuid.UUID", i, v)
		}
		if got, want := int64(value.InstantOf(ev.CreatedAt)), r.CreatedAt; got != want {
			t.Errorf("event %d created-at %d, stored %d", i, got, want)
		}
	}
}

// TestArchiveStopsAtFirstRefusedChunk: the endpoint answers 500 to the
// third chunk. The run stops there with an error: the first two chunks are
// archived, nothing after them is marked or sent, and the next run sends
// the rest, starting with the refused chunk.
func TestArchiveStopsAtFirstRefusedChunk(t *testing.T) {
	d := openDB(t)
	record(t, d, audit.Flags{AuditLog: true, Telemetry: true}, 0, 400)
	ep := newEndpoint(t, failOn(3, http.StatusInternalServerError))

	res, err := newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("RunOnce error = %v, want one naming the 500", err)
	}
	if got, want := res, (archive.Result{Archived: 256}); got != want {
		t.Errorf("RunOnce = %+v, want %+v", got, want)
	}
	if got, want := fmt.Sprint(chunkSizes(ep.requests())), "[128 128 128]"; got != want {
		t.Errorf("chunk sizes = %s, want %s (no chunk after the refused one)", got, want)
	}
	checkArchived(t, d, 0, 256)

	res, err = newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background())
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	if got, want := res, (archive.Result{Archived: 144}); got != want {
		t.Errorf("second RunOnce = %+v, want %+v", got, want)
	}
	reqs := ep.requests()
	if got, want := names(reqs), wantNames(256, 400); !equalStrings(got, want) {
		t.Errorf("second run sent %v,\nwant %v", got, want)
	}
	if got, want := fmt.Sprint(chunkSizes(reqs)), "[128 16]"; got != want {
		t.Errorf("second run chunk sizes = %s, want %s", got, want)
	}
	checkArchived(t, d, 0, 400)
}

// TestArchiveOnlyA204Accepts: any answer but 204 (other 2xx included),
// and an endpoint that does not answer, stops the run before anything is
// marked.
func TestArchiveOnlyA204Accepts(t *testing.T) {
	for _, code := range []int{http.StatusOK, http.StatusAccepted, http.StatusBadRequest,
		http.StatusForbidden, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			d := openDB(t)
			record(t, d, audit.Flags{AuditLog: true}, 0, 3)
			ep := newEndpoint(t, always(code))
			res, err := newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background())
			if err == nil || res.Archived != 0 {
				t.Errorf("RunOnce = %+v, %v; want nothing archived and an error", res, err)
			}
			if got := len(ep.requests()); got != 1 {
				t.Errorf("%d requests, want 1", got)
			}
			checkArchived(t, d, 0, 0)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		d := openDB(t)
		record(t, d, audit.Flags{AuditLog: true}, 0, 3)
		ep := newEndpoint(t, always(http.StatusNoContent))
		url := ep.URL
		ep.Close()
		res, err := newArchiver(d, url, archiveOnly).RunOnce(context.Background())
		if err == nil || res.Archived != 0 {
			t.Errorf("RunOnce = %+v, %v; want nothing archived and an error", res, err)
		}
		checkArchived(t, d, 0, 0)
	})
}

// TestArchiveNeverSendsTelemetry: a file holding only telemetry rows
// sends nothing, and neither the archive nor the GC touches them.
func TestArchiveNeverSendsTelemetry(t *testing.T) {
	d := openDB(t)
	record(t, d, audit.Flags{Telemetry: true}, 0, 200)
	ep := newEndpoint(t, always(http.StatusNoContent))
	res, err := newArchiver(d, ep.URL, allFlags).RunOnce(context.Background())
	if err != nil || res != (archive.Result{}) {
		t.Errorf("RunOnce = %+v, %v; want nothing done", res, err)
	}
	if got := len(ep.requests()); got != 0 {
		t.Errorf("%d requests sent, want none", got)
	}
	tele := rows(t, d, db.SourceTelemetry)
	if got, want := len(tele), 200; got != want {
		t.Fatalf("%d telemetry rows left, want %d", got, want)
	}
	for _, r := range tele {
		if r.ArchivedAt.Valid {
			t.Fatalf("telemetry row %d archived", r.Seq)
		}
	}
}

// TestArchiveAndGCBothModes: with audit-log and telemetry on, every event
// is a full row and a telemetry row. The archive sends only the full
// rows, the GC deletes only them, and every telemetry row stays,
// unarchived.
func TestArchiveAndGCBothModes(t *testing.T) {
	d := openDB(t)
	record(t, d, allFlags, 0, 300)
	ep := newEndpoint(t, always(http.StatusNoContent))

	res, err := newArchiver(d, ep.URL, allFlags).RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got, want := res, (archive.Result{Archived: 300, Deleted: 300}); got != want {
		t.Errorf("RunOnce = %+v, want %+v", got, want)
	}
	reqs := ep.requests()
	for _, r := range reqs {
		for _, e := range r.events {
			if s, _ := e.(*value.Map).GetKW("source"); s == db.SourceTelemetry {
				t.Fatalf("a telemetry row was sent: %v", e)
			}
		}
	}
	if got, want := names(reqs), wantNames(0, 300); !equalStrings(got, want) {
		t.Errorf("sent %v,\nwant %v", got, want)
	}
	counts, err := d.CountBySource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(counts), "map[telemetry:300]"; got != want {
		t.Errorf("rows left by source = %s, want %s", got, want)
	}
	checkArchived(t, d, 0, 0) // what is left: telemetry rows, none archived
}

// TestGCRunsWhenArchiveFails: the GC step runs after a failed archive
// step in the same run, deleting what was archived before the failure,
// and the next run picks up from the refused chunk.
func TestGCRunsWhenArchiveFails(t *testing.T) {
	d := openDB(t)
	record(t, d, allFlags, 0, 300)
	ep := newEndpoint(t, failOn(2, http.StatusBadGateway))

	res, err := newArchiver(d, ep.URL, allFlags).RunOnce(context.Background())
	if err == nil {
		t.Errorf("RunOnce succeeded, want the 502 reported")
	}
	if got, want := res, (archive.Result{Archived: 128, Deleted: 128}); got != want {
		t.Errorf("RunOnce = %+v, want %+v", got, want)
	}
	left := auditRows(t, d)
	if got, want := len(left), 172; got != want {
		t.Fatalf("%d audit rows left, want %d", got, want)
	}
	if got, want := left[0].Name, "ev-128"; got != want {
		t.Errorf("oldest audit row left = %s, want %s", got, want)
	}
	checkArchived(t, d, 0, 0)

	// The endpoint is down altogether: the GC still runs (nothing to
	// delete now) and the error is still reported.
	down := newEndpoint(t, always(http.StatusNoContent))
	down.Close()
	res, err = newArchiver(d, down.URL, allFlags).RunOnce(context.Background())
	if err == nil || res != (archive.Result{}) {
		t.Errorf("RunOnce with the endpoint down = %+v, %v; want nothing done and an error", res, err)
	}

	ep.requests()
	res, err = newArchiver(d, ep.URL, allFlags).RunOnce(context.Background())
	if err != nil {
		t.Fatalf("third RunOnce: %v", err)
	}
	if got, want := res, (archive.Result{Archived: 172, Deleted: 172}); got != want {
		t.Errorf("third RunOnce = %+v, want %+v", got, want)
	}
	if got, want := names(ep.requests()), wantNames(128, 300); !equalStrings(got, want) {
		t.Errorf("third run sent %v,\nwant %v", got, want)
	}
	if got := len(rows(t, d, db.SourceTelemetry)); got != 300 {
		t.Errorf("%d telemetry rows left, want 300", got)
	}
}

// TestGCWithoutArchiveFlagDeletesOnlyArchived: the GC alone deletes rows
// archived earlier and nothing else.
func TestGCWithoutArchiveFlagDeletesOnlyArchived(t *testing.T) {
	d := openDB(t)
	record(t, d, allFlags, 0, 10)
	ep := newEndpoint(t, always(http.StatusNoContent))
	if _, err := newArchiver(d, ep.URL, archiveOnly).RunOnce(context.Background()); err != nil {
		t.Fatalf("archive: %v", err)
	}
	record(t, d, allFlags, 10, 15)
	res, err := newArchiver(d, ep.URL, audit.Flags{AuditLogGC: true}).RunOnce(context.Background())
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if got, want := res, (archive.Result{Deleted: 10}); got != want {
		t.Errorf("GC = %+v, want %+v", got, want)
	}
	if got, want := fmt.Sprint(names([]request{{events: eventsOf(auditRows(t, d))}})),
		fmt.Sprint(wantNames(10, 15)); got != want {
		t.Errorf("audit rows left = %s, want %s", got, want)
	}
	if got := len(rows(t, d, db.SourceTelemetry)); got != 15 {
		t.Errorf("%d telemetry rows left, want 15", got)
	}
}

func eventsOf(rs []db.Row) value.Vector {
	out := make(value.Vector, len(rs))
	for i, r := range rs {
		out[i] = kmap(value.K("name"), r.Name)
	}
	return out
}

// TestEncodeBadStoredMap: a row whose stored props are not transit is an
// error naming the row, not a silently empty map.
func TestEncodeBadStoredMap(t *testing.T) {
	_, err := archive.Encode([]db.Row{{Seq: 7, Name: "x", Type: "action", Source: "backend",
		Props: "{not transit", Context: "{}"}})
	if err == nil || !strings.Contains(err.Error(), "row 7") {
		t.Errorf("Encode = %v, want an error naming row 7", err)
	}
}

// TestStartRunsUntilStop: Start runs the archive on its interval; Stop
// ends it and waits for the run in progress.
func TestStartRunsUntilStop(t *testing.T) {
	d := openDB(t)
	record(t, d, audit.Flags{AuditLog: true}, 0, archive.ChunkSize+1)
	second := make(chan struct{})
	ep := newEndpoint(t, func(n int) int {
		if n == 2 {
			close(second)
		}
		return http.StatusNoContent
	})
	a := newArchiver(d, ep.URL, archiveOnly)
	a.Start(context.Background(), time.Millisecond)
	// The second chunk is only read once the first was marked archived.
	<-second
	a.Stop()
	a.Stop() // a second Stop is a no-op
	rs := auditRows(t, d)
	for _, r := range rs[:archive.ChunkSize] {
		if !r.ArchivedAt.Valid {
			t.Fatalf("row %s of the first chunk not archived", r.Name)
		}
	}
}

// A second run on the same file waits for the first; when the lock stays
// held past LockWait it gives up with ErrLocked and sends nothing.
func TestOneRunAtATime(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	ep := newEndpoint(t, always(204))
	record(t, d, audit.Flags{AuditLog: true}, 0, 3)
	lock, err := runlock.Acquire(ctx, runlock.Beside(d.Path(), "archive"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a := newArchiver(d, ep.URL, audit.Flags{AuditLog: true, AuditLogArchive: true})
	a.LockWait = 200 * time.Millisecond
	if _, err := a.RunOnce(ctx); !errors.Is(err, runlock.ErrLocked) {
		t.Fatalf("RunOnce while locked = %v, want ErrLocked", err)
	}
	if n := len(ep.requests()); n != 0 {
		t.Fatalf("%d requests while locked, want 0", n)
	}
	lock.Release()
	if res, err := a.RunOnce(ctx); err != nil || res.Archived != 3 {
		t.Fatalf("RunOnce after release = %+v, %v", res, err)
	}
}
