package main

// Operating tally: metrics after real traffic, the health routes on their
// own listener, graceful shutdown under load, and `tally bench`.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tally/db"
)

var metricsAddrRE = regexp.MustCompile(`msg="tally serving" .*metrics_addr=(\S+)`)

// scrape reads a Prometheus text page into "name{labels}" → value
// (labels as written, sorted by the library).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The metrics of SPEC section 8 are counted on the real paths: the ingest
// routes (accepted, rejected by reason, rows stored, latency), the
// telemetry task of serve (GC, batches, rows shipped, last good run, the
// buffer gauge), and served on --metrics-addr with the health routes.
func TestMetricsAfterTraffic(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	// The first telemetry run comes one interval after start: long enough
	// to push everything first.
	s := startServe(t, "--db", dbPath, "--metrics-addr", "127.0.0.1:0", "--ship-interval", "3s",
		"--ship-jitter", "0", "--gc-cap", "10")
	m := metricsAddrRE.FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no metrics_addr in the start-up log:\n%s", s.logs.String())
	}
	ops := "http://" + m[1]

	push := s.url("/api/main/methods/push-audit-events")
	for i := range 3 {
		pushJSON(t, push, 5, fmt.Sprintf("open-file-%d", i))
	}
	if code, body := post(t, push, "application/json", `{"events":[{"name":"bad name","type":"action","props":{},"timestamp":1}]}`, nil); code != 400 {
		t.Fatalf("bad name: %d %s", code, body)
	}
	if code, body := post(t, push, "application/json", `{"events":`, nil); code != 400 {
		t.Fatalf("malformed: %d %s", code, body)
	}
	if code, body := post(t, push, "text/plain", `x`, nil); code != 415 {
		t.Fatalf("text/plain: %d %s", code, body)
	}

	// The metrics listener serves /metrics, /healthz and /readyz, and
	// nothing of the API.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := getStatus(t, ops+p); code != 200 {
			t.Errorf("metrics listener %s: %d", p, code)
		}
	}
	if code := getStatus(t, ops+"/api/main/methods/get-enabled-flags"); code != 404 {
		t.Errorf("metrics listener serves the API: %d", code)
	}

	got := scrape(t, ops+"/metrics")
	want := map[string]float64{
		// 15 pushed and the instance-start event, one telemetry row each.
		`tally_events_accepted_total`:                                                                       16,
		`tally_rows_stored_total{source="telemetry"}`:                                                       16,
		`tally_telemetry_rows_buffered`:                                                                     16,
		`tally_events_rejected_total{reason="params-validation"}`:                                           1,
		`tally_events_rejected_total{reason="malformed-body"}`:                                              1,
		`tally_events_rejected_total{reason="unsupported-media-type"}`:                                      1,
		`tally_http_request_duration_seconds_count{code="204",route="/api/main/methods/push-audit-events"}`: 3,
		`tally_http_request_duration_seconds_count{code="400",route="/api/main/methods/push-audit-events"}`: 2,
		`tally_batches_sent_total`:                                                                          0,
		`tally_last_successful_run_timestamp_seconds`:                                                       0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("before the run: %s = %v, want %v", k, got[k], v)
		}
	}

	// The first run: the GC keeps the newest 10 rows, the report and one
	// page go to serve's own collector.
	deadline := time.Now().Add(20 * time.Second)
	for got[`tally_last_successful_run_timestamp_seconds`] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no successful telemetry run within 20s:\n%s", s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
		got = scrape(t, s.url("/metrics")) // the main listener serves them too
	}
	want = map[string]float64{
		`tally_gc_deleted_rows_total`:   6,
		`tally_batches_sent_total`:      1,
		`tally_batches_failed_total`:    0,
		`tally_rows_shipped_total`:      10,
		`tally_telemetry_rows_buffered`: 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after the run: %s = %v, want %v", k, got[k], v)
		}
	}
	if ts := got[`tally_last_successful_run_timestamp_seconds`]; ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last successful run at %v, not within the last minute", ts)
	}
	s.stop(t)
}

// A failed page counts as a failed batch and leaves the last-success time
// unset.
func TestMetricsFailedBatch(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	ep := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ep.Serve(ln)
	defer ep.Close()
	s := startServe(t, "--db", dbPath, "--ship-interval", "1s", "--ship-jitter", "0",
		"--telemetry-uri", "http://"+ln.Addr().String()+"/")
	pushJSON(t, s.url("/api/main/methods/push-audit-events"), 3, "e")
	deadline := time.Now().Add(20 * time.Second)
	got := scrape(t, s.url("/metrics"))
	for got[`tally_batches_failed_total`] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed batch counted within 20s:\n%s", s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
		got = scrape(t, s.url("/metrics"))
	}
	if got[`tally_batches_sent_total`] != 0 || got[`tally_rows_shipped_total`] != 0 ||
		got[`tally_last_successful_run_timestamp_seconds`] != 0 || got[`tally_telemetry_rows_buffered`] != 4 {
		t.Errorf("after a failed run: %v", got)
	}
	s.stop(t)
}

// SIGTERM under load: clients push continuously from several goroutines
// while tally serve is told to stop. Every request answered 204 before it
// went away is in the file afterwards, the process exits 0, and the WAL
// was checkpointed into the database file.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tally.db")
	s := startServe(t, "--db", dbPath, "--rate", "0")
	push := s.url("/api/main/methods/push-audit-events")

	const clients, perRequest = 6, 20
	var (
		mu    sync.Mutex
		acked = map[string]bool{} // names of acknowledged events
		sent  atomic.Int64        // requests answered 204
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; ; r++ {
				names := make([]string, perRequest)
				events := make([]string, perRequest)
				for i := range names {
					names[i] = fmt.Sprintf("c%d-r%d-e%d", c, r, i)
					events[i] = fmt.Sprintf(`{"name":%q,"type":"action","props":{"n":%d},"context":{"browser":"firefox"},"timestamp":%d}`,
						names[i], i, time.Now().UnixMilli())
				}
				resp, err := client.Post(push, "application/json", strings.NewReader(`{"events":[`+strings.Join(events, ",")+`]}`))
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 204 {
					continue // not acknowledged: may or may not be stored
				}
				mu.Lock()
				for _, n := range names {
					acked[n] = true
				}
				mu.Unlock()
				sent.Add(1)
			}
		}()
	}
	// Stop mid-load, once a good number of requests went through.
	deadline := time.Now().Add(20 * time.Second)
	for sent.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	atSignal := sent.Load()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("tally serve did not stop within 30s of SIGTERM:\n%s", s.logs.String())
	}
	wg.Wait()
	if s.err != nil {
		t.Fatalf("tally serve exited with %v:\n%s", s.err, s.logs.String())
	}
	if !strings.Contains(s.logs.String(), `msg="shutting down"`) {
		t.Errorf("no shutdown logged:\n%s", s.logs.String())
	}
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("the WAL holds %d bytes after a clean exit: not checkpointed", fi.Size())
	}

	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stored := map[string]bool{}
	if err := d.List(context.Background(), db.ListOptions{Source: db.SourceTelemetry}, func(r db.Row) error {
		stored[r.Name] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for n := range acked {
		if !stored[n] {
			missing++
		}
	}
	t.Logf("%d requests (%d events) acknowledged, %d of them after SIGTERM; %d events stored",
		sent.Load(), len(acked), sent.Load()-atSignal, len(stored)-1)
	if len(acked) == 0 {
		t.Fatal("no request was acknowledged before the shutdown")
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events are not in the file", missing, len(acked))
	}
}

var benchLineRE = regexp.MustCompile(`^([a-z_]+) (-?[0-9]+(\.[0-9]+)?)$`)

// `tally bench --quick` prints every figure of the issue as a `name
// value` line and the summary line, all parseable (no timing checked).
func TestBenchQuick(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := tallyErr("bench", "--quick", "--dir", dir)
	if err != nil {
		t.Fatalf("tally bench: %v\n%s\n%s", err, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	figures := map[string]float64{}
	for _, l := range lines[:len(lines)-1] {
		m := benchLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a `name value` line: %q\n%s", l, out)
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		figures[m[1]] = v
	}
	for _, name := range []string{"ingest_events_per_s", "raw_insert_rows_per_s", "ingest_vs_raw_ratio",
		"ship_events_per_s", "raw_page_delete_rows_per_s", "ship_vs_raw_ratio", "collect_events_per_s",
		"gc_seconds", "raw_gc_seconds", "gc_peak_rss_mb", "encode_page_ms", "startup_ms", "idle_rss_mb", "peak_rss_mb"} {
		v, ok := figures[name]
		if !ok {
			t.Errorf("no %s line:\n%s", name, out)
		} else if v <= 0 {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	last := lines[len(lines)-1]
	sum := regexp.MustCompile(`^bench: ingest_vs_raw_ratio=([0-9.]+) ship_vs_raw_ratio=([0-9.]+) gc_vs_raw_ratio=([0-9.]+) peak_rss_mb=([0-9.]+)$`)
	m := sum.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line %q is not the summary", last)
	}
	for i, name := range []string{"ingest_vs_raw_ratio", "ship_vs_raw_ratio"} {
		if v, _ := strconv.ParseFloat(m[i+1], 64); fmt.Sprintf("%.3f", v) != fmt.Sprintf("%.3f", figures[name]) {
			t.Errorf("summary %s=%s, figure line %v", name, m[i+1], figures[name])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bench left %d files behind in %s", len(entries), dir)
	}
}
