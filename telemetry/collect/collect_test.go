package collect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry/blob"
	"tally/telemetry/collect"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

const instanceID = "5d0f3c2a-8b1e-4f6d-9a7c-2e4b6d8f0a1c"

var (
	profile = uuid.MustParse("0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f")
	day     = value.Instant(1767225600000) // 2026-01-01T00:00:00Z
)

func kmap(kv ...value.Value) *value.Map {
	m := &value.Map{}
	for i := 0; i < len(kv); i += 2 {
		m.Append(kv[i], kv[i+1])
	}
	return m
}

// event is one event map as a telemetry page carries it.
func event(name string) *value.Map {
	return kmap(value.K("name"), name, value.K("type"), "action", value.K("source"), "telemetry",
		value.K("tracked-at"), day, value.K("profile-id"), profile, value.K("props"), kmap(),
		value.K("context"), kmap(value.K("version"), "2.4.3", value.K("screen-width"), int64(1920)))
}

func mustBlob(t testing.TB, v value.Value) string {
	t.Helper()
	s, err := blob.EncodeValue(v)
	if err != nil {
		t.Fatalf("blob.EncodeValue: %v", err)
	}
	return s
}

// eventsBody is a telemetry-events body, as the telemetry task sends it.
func eventsBody(t testing.TB, events ...value.Value) string {
	t.Helper()
	return fmt.Sprintf(`{"type":"telemetry-events","version":"2.4.3","instance-id":%q,"events":%q}`,
		instanceID, mustBlob(t, value.Vector(events)))
}

const reportBody = `{"type":"telemetry-legacy-report","version":"2.4.3","instance-id":"` + instanceID + `",
 "stats":{"public-uri":"https://x.example","cpus":2,"total-events":{"telemetry":3}}}`

// collector is a collect.Handler over loopback, storing into its own file.
type collector struct {
	*httptest.Server
	DB *db.DB
}

func newCollector(t *testing.T, maxBody int64) *collector {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "collect.db"))
	if err != nil {
		t.Fatalf("db.Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	srv := httptest.NewServer(&collect.Handler{DB: d, MaxBody: maxBody, Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(srv.Close)
	return &collector{Server: srv, DB: d}
}

// post sends body with the batch id header (none when "") and returns the
// status and the response body.
func (c *collector) post(t *testing.T, body, batchID string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if batchID != "" {
		req.Header.Set(collect.BatchIDHeader, batchID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *collector) received(t *testing.T) []db.ReceivedEvent {
	t.Helper()
	var out []db.ReceivedEvent
	if err := c.DB.Received(context.Background(), 0, func(e db.ReceivedEvent) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("Received: %v", err)
	}
	return out
}

func (c *collector) reports(t *testing.T) []db.ReceivedReport {
	t.Helper()
	var out []db.ReceivedReport
	if err := c.DB.Reports(context.Background(), 0, func(r db.ReceivedReport) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("Reports: %v", err)
	}
	return out
}

// stats returns pages, events and dropped duplicates.
func (c *collector) stats(t *testing.T) string {
	t.Helper()
	b, e, d, err := c.DB.CollectStats(context.Background())
	if err != nil {
		t.Fatalf("CollectStats: %v", err)
	}
	return fmt.Sprintf("%d pages, %d events, %d duplicates", b, e, d)
}

func TestCollectStoresEvents(t *testing.T) {
	c := newCollector(t, 0)
	if code, body := c.post(t, eventsBody(t, event("open-file"), event("export-shapes")), "b-1"); code != http.StatusNoContent {
		t.Fatalf("status %d: %s, want 204", code, body)
	}
	got := c.received(t)
	if len(got) != 2 {
		t.Fatalf("%d events stored, want 2", len(got))
	}
	for i, name := range []string{"open-file", "export-shapes"} {
		e := got[i]
		e.ReceivedAt = 0
		want := db.ReceivedEvent{BatchID: "b-1", InstanceID: instanceID, Name: name, Type: "action",
			Source: "telemetry", ProfileID: profile, TrackedAt: int64(day), Props: "{}",
			Context: `{"~:version":"2.4.3","~:screen-width":1920}`}
		if e != want {
			t.Errorf("event %d =\n%+v\nwant\n%+v", i, e, want)
		}
	}
	if got[0].ReceivedAt == 0 {
		t.Errorf("received_at not set")
	}
	if got, want := c.stats(t), "1 pages, 2 events, 0 duplicates"; got != want {
		t.Errorf("stats: %s, want %s", got, want)
	}
}

// TestCollectPenpotPage: a page written by the JVM with Penpot's fressian
// handlers and zstd-jni (the golden fixture) is accepted as is.
func TestCollectPenpotPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fresstest.Dir(), "fixtures", "event-page-small.blob"))
	if err != nil {
		t.Fatalf("the JVM fixture is part of the repository: %v", err)
	}
	c := newCollector(t, 0)
	body := fmt.Sprintf(`{"type":"telemetry-events","version":"2.4.3","instance-id":%q,"events":%q}`,
		instanceID, strings.TrimSpace(string(b)))
	if code, resp := c.post(t, body, ""); code != http.StatusNoContent {
		t.Fatalf("status %d: %s", code, resp)
	}
	got := c.received(t)
	if len(got) != 3 {
		t.Fatalf("%d events stored, want 3", len(got))
	}
	for i, e := range got {
		want := fresstest.Event(i)
		name, _ := want.GetKW("name")
		p, _ := want.GetKW("profile-id")
		if e.Name != name || e.ProfileID != p || e.Source != "telemetry" || e.Props != "{}" {
			t.Errorf("event %d = %+v, want %v", i, e, want)
		}
		if !strings.HasPrefix(e.BatchID, "sha256:") {
			t.Errorf("batch id without a header = %q, want a sha256: id", e.BatchID)
		}
	}
}

// TestCollectDeduplicates: a page re-sent under the same batch id is
// answered 204 and stored once; without a header the page's own hash is
// its id; a different id is a different page.
func TestCollectDeduplicates(t *testing.T) {
	c := newCollector(t, 0)
	body := eventsBody(t, event("a"), event("b"), event("c"))
	for i := 0; i < 2; i++ {
		if code, resp := c.post(t, body, "batch-7"); code != http.StatusNoContent {
			t.Fatalf("send %d: status %d: %s", i+1, code, resp)
		}
	}
	if got, want := c.stats(t), "1 pages, 3 events, 1 duplicates"; got != want {
		t.Errorf("after a re-send: %s, want %s", got, want)
	}
	if got := len(c.received(t)); got != 3 {
		t.Errorf("%d events stored, want 3", got)
	}

	other := eventsBody(t, event("d"))
	for i := 0; i < 2; i++ {
		if code, resp := c.post(t, other, ""); code != http.StatusNoContent {
			t.Fatalf("send %d without id: status %d: %s", i+1, code, resp)
		}
	}
	if got, want := c.stats(t), "2 pages, 4 events, 2 duplicates"; got != want {
		t.Errorf("after a re-send without id: %s, want %s", got, want)
	}

	if code, resp := c.post(t, body, "batch-8"); code != http.StatusNoContent {
		t.Fatalf("status %d: %s", code, resp)
	}
	if got, want := c.stats(t), "3 pages, 7 events, 2 duplicates"; got != want {
		t.Errorf("after the same events under a new id: %s, want %s", got, want)
	}
}

func TestCollectStoresReport(t *testing.T) {
	c := newCollector(t, 0)
	if code, resp := c.post(t, reportBody, ""); code != http.StatusNoContent {
		t.Fatalf("status %d: %s", code, resp)
	}
	reps := c.reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports stored, want 1", len(reps))
	}
	r := reps[0]
	if r.InstanceID != instanceID || r.Version != "2.4.3" {
		t.Errorf("report = %+v", r)
	}
	var stats map[string]any
	if err := json.Unmarshal([]byte(r.Stats), &stats); err != nil {
		t.Fatalf("stored stats are not JSON: %v: %s", err, r.Stats)
	}
	if got, want := fmt.Sprint(stats), "map[cpus:2 public-uri:https://x.example total-events:map[telemetry:3]]"; got != want {
		t.Errorf("stats = %s, want %s", got, want)
	}
	if got := len(c.received(t)); got != 0 {
		t.Errorf("a report stored %d events", got)
	}
	out, err := collect.ReportJSON(r)
	if err != nil || !json.Valid(out) || !strings.Contains(string(out), `"type":"telemetry-legacy-report"`) {
		t.Errorf("ReportJSON = %s, %v", out, err)
	}
}

// TestCollectRejects: a body the collector cannot decode is a 400 with
// the reason, and nothing is stored.
func TestCollectRejects(t *testing.T) {
	page := func(events string) string {
		return fmt.Sprintf(`{"type":"telemetry-events","version":"1","instance-id":%q,"events":%s}`, instanceID, events)
	}
	noName := kmap(value.K("type"), "action", value.K("source"), "telemetry", value.K("tracked-at"), day)
	tests := []struct {
		name, body, reason string
	}{
		{"not JSON", `type=telemetry-events`, "not a JSON object"},
		{"empty", ``, "not a JSON object"},
		{"JSON array", `[1,2]`, "not a JSON object"},
		{"unknown type", `{"type":"telemetry-stats","instance-id":"` + instanceID + `"}`, `unknown body type "telemetry-stats"`},
		{"no type", `{"instance-id":"` + instanceID + `"}`, `unknown body type ""`},
		{"bad instance-id", `{"type":"telemetry-events","instance-id":"box-1","events":"AAQ"}`, `instance-id "box-1" is not a uuid`},
		{"no instance-id", `{"type":"telemetry-legacy-report","stats":{}}`, `instance-id "" is not a uuid`},
		{"no events", page("null"), "has no events"},
		{"events not a string", page("[1]"), "not a JSON object"},
		{"bad blob", page(`"!!not-base64!!"`), "events blob"},
		{"blob of garbage", page(`"` + blob.EncodeString([]byte{0xe3}) + `"`), "events blob: "},
		{"events not a vector", page(`"` + mustBlob(t, kmap(value.K("name"), "x")) + `"`), "want a vector of event maps"},
		{"event not a map", page(`"` + mustBlob(t, value.Vector{"x"}) + `"`), "event 0 is string, want a map"},
		{"event missing name", page(`"` + mustBlob(t, value.Vector{event("ok"), noName}) + `"`), "event 1 needs string :name"},
		{"tracked-at not an instant", page(`"` + mustBlob(t, value.Vector{kmap(value.K("name"), "x",
			value.K("type"), "action", value.K("source"), "telemetry", value.K("tracked-at"), int64(1))}) + `"`),
			":tracked-at is int64, want an instant"},
		{"profile-id not a uuid", page(`"` + mustBlob(t, value.Vector{kmap(value.K("name"), "x",
			value.K("type"), "action", value.K("source"), "telemetry", value.K("tracked-at"), day,
			value.K("profile-id"), "nobody")}) + `"`), ":profile-id is string, want a uuid"},
		{"props not a map", page(`"` + mustBlob(t, value.Vector{kmap(value.K("name"), "x",
			value.K("type"), "action", value.K("source"), "telemetry", value.K("tracked-at"), day,
			value.K("props"), value.Vector{})}) + `"`), ":props is value.Vector, want a map"},
		{"report without stats", `{"type":"telemetry-legacy-report","instance-id":"` + instanceID + `"}`, "needs a stats object"},
		{"report with stats not an object", `{"type":"telemetry-legacy-report","instance-id":"` + instanceID + `","stats":[1]}`,
			"needs a stats object"},
	}
	c := newCollector(t, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := c.post(t, tt.body, "id-"+tt.name)
			if code != http.StatusBadRequest || !strings.Contains(body, tt.reason) {
				t.Errorf("got %d %q, want 400 with %q", code, strings.TrimSpace(body), tt.reason)
			}
		})
	}
	if got, want := c.stats(t), "0 pages, 0 events, 0 duplicates"; got != want {
		t.Errorf("after rejected bodies: %s, want %s", got, want)
	}
	if got := len(c.reports(t)); got != 0 {
		t.Errorf("%d reports stored, want none", got)
	}
}

func TestCollectMethodPathAndSize(t *testing.T) {
	c := newCollector(t, 256)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, c.URL+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusMethodNotAllowed; got != want {
			t.Errorf("%s /: status %d, want %d", m, got, want)
		}
		if got, want := resp.Header.Get("Allow"), "POST"; got != want {
			t.Errorf("%s /: Allow %q, want %q", m, got, want)
		}
	}
	resp, err := http.Post(c.URL+"/elsewhere", "application/json", strings.NewReader(reportBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusNotFound; got != want {
		t.Errorf("POST /elsewhere: status %d, want %d", got, want)
	}
	if code, _ := c.post(t, reportBody+strings.Repeat(" ", 300), ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", code)
	}
	if got := len(c.reports(t)); got != 0 {
		t.Errorf("%d reports stored, want none", got)
	}
}

// TestReceivedJSON: what `tally received` prints for a stored event.
func TestReceivedJSON(t *testing.T) {
	c := newCollector(t, 0)
	ev := event("open-file")
	ev.Set(value.K("props"), kmap(value.K("kind"), value.K("pdf"), value.K("file-id"), profile))
	if code, body := c.post(t, eventsBody(t, ev), "b-9"); code != http.StatusNoContent {
		t.Fatalf("status %d: %s", code, body)
	}
	got := c.received(t)
	if len(got) != 1 {
		t.Fatalf("%d events stored", len(got))
	}
	got[0].ReceivedAt = 1767225600123
	out, err := collect.ReceivedJSON(got[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"batch_id":"b-9","instance_id":"` + instanceID + `","received_at":"2026-01-01T00:00:00.123Z",` +
		`"name":"open-file","type":"action","source":"telemetry","tracked_at":"2026-01-01T00:00:00.000Z",` +
		`"profile_id":"` + profile.String() + `","props":{"kind":"pdf","file-id":"` + profile.String() + `"},` +
		`"context":{"version":"2.4.3","screen-width":1920}}`
	if string(out) != want {
		t.Errorf("ReceivedJSON =\n%s\nwant\n%s", out, want)
	}
}

func TestDecode(t *testing.T) {
	events := value.Vector{
		kmap(value.K("name"), "open-file", value.K("tracked-at"), day, value.K("profile-id"), profile,
			value.K("kind"), value.K("pdf"), value.Keyword{NS: "app.main", Name: "event"}, value.Set{value.K("a")},
			value.K("props"), kmap()),
	}
	s := mustBlob(t, events)
	wantEvents := `[{"name":"open-file","tracked-at":"2026-01-01T00:00:00.000Z","profile-id":"` + profile.String() +
		`","kind":"pdf","app.main/event":["a"],"props":{}}]`
	tests := []struct {
		name, in, want string
	}{
		{"blob string", s, wantEvents},
		{"blob string with a newline", s + "\n", wantEvents},
		{"quoted blob string", `"` + s + `"`, wantEvents},
		{"whole body, keys kept in order", `{"version":"2.4.3", "type":"telemetry-events",` +
			"\n" + `"events":"` + s + `","instance-id":"` + instanceID + `","extra":{"n": 1.50}}`,
			`{"version":"2.4.3","type":"telemetry-events","events":` + wantEvents + `,"instance-id":"` +
				instanceID + `","extra":{"n":1.50}}`},
		{"body without events is compacted", reportBody,
			`{"type":"telemetry-legacy-report","version":"2.4.3","instance-id":"` + instanceID +
				`","stats":{"public-uri":"https://x.example","cpus":2,"total-events":{"telemetry":3}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Decode =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{
		``,
		`not a blob`,
		`{"events":`,
		`{"type":"telemetry-events","events":[1,2]}`,
		`{"type":"telemetry-events","events":"!!"}`,
		`"unterminated`,
		blob.EncodeString([]byte{0xe3}), // a string code and no string
	} {
		if out, err := collect.Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) = %s, want an error", in, out)
		}
	}
}

func FuzzDecode(f *testing.F) {
	events := value.Vector{event("a"), event("b")}
	s := mustBlob(f, events)
	f.Add([]byte(s))
	f.Add([]byte(`"` + s + `"`))
	f.Add([]byte(eventsBody(f, event("a"))))
	f.Add([]byte(reportBody))
	f.Add([]byte(`{"events":"` + s + `","events":"x"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := collect.Decode(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Decode(%q) = %q, not JSON", in, out)
		}
	})
}

// FuzzStore: whatever the body, the collector stores it or rejects it as
// a bad body (400), never fails otherwise (500) and never panics.
func FuzzStore(f *testing.F) {
	f.Add([]byte(eventsBody(f, event("a"), event("b"))))
	f.Add([]byte(reportBody))
	f.Add([]byte(`{"type":"telemetry-events","instance-id":"` + instanceID + `","events":"AAQAAAAA"}`))
	f.Add([]byte(`{"type":"telemetry-legacy-report","instance-id":"` + instanceID + `","stats":{"a":"\u0000"}}`))
	d, err := db.Open(context.Background(), filepath.Join(f.TempDir(), "collect.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	h := &collect.Handler{DB: d}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, err := h.Store(context.Background(), in, "")
		var bad *collect.BadBodyError
		if err != nil && !errors.As(err, &bad) {
			t.Fatalf("Store(%q): %v, not a bad-body error", in, err)
		}
	})
}

// With Keep set, the oldest pages go once more than Keep events are kept.
func TestCollectKeepPrunesOldestPages(t *testing.T) {
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "collect.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := httptest.NewServer(&collect.Handler{DB: d, Keep: 5, Log: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	c := &collector{Server: srv, DB: d}
	for i, n := range []int{2, 2, 2, 3} {
		var evs []value.Value
		for j := 0; j < n; j++ {
			evs = append(evs, event(fmt.Sprintf("p%d-%d", i, j)))
		}
		if code, body := c.post(t, eventsBody(t, evs...), fmt.Sprintf("batch-%d", i)); code != 204 {
			t.Fatalf("page %d: %d %s", i, code, body)
		}
	}
	// 9 events in 4 pages; keeping at most 5 leaves the last two pages.
	if got, want := c.stats(t), "2 pages, 5 events, 0 duplicates"; got != want {
		t.Fatalf("stats = %s, want %s", got, want)
	}
	var names []string
	for _, e := range c.received(t) {
		names = append(names, e.Name)
	}
	if got, want := strings.Join(names, ","), "p2-0,p2-1,p3-0,p3-1,p3-2"; got != want {
		t.Fatalf("kept %s, want %s", got, want)
	}
}
