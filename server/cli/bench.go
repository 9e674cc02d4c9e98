package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"tally/db"
	"tally/telemetry"
	"tally/telemetry/collect"
	"tally/telemetry/loadtest"
)

// benchConfig is what `tally bench` measures; zero sizes take the
// defaults (or the --quick ones).
type benchConfig struct {
	events    int // pushed through a child `tally serve`
	clients   int // concurrent HTTP clients
	shipRows  int // buffered rows a child `tally ship` sends
	batchSize int // rows per page
	gcRows    int // telemetry rows before the GC
	gcCap     int // ... and after
	encRuns   int // warm runs of the page encoder
	rounds    int // measurements of each figure and its yardstick
	jvm       string
	harness   string
	dir       string
	keep      bool
}

func (c *benchConfig) defaults(quick bool) {
	def := func(p *int, normal, q int) {
		if *p <= 0 {
			*p = normal
			if quick {
				*p = q
			}
		}
	}
	def(&c.events, 200000, 2000)
	def(&c.clients, 8, 4)
	if c.shipRows <= 0 && !quick {
		c.shipRows = min(100000, c.events)
	}
	def(&c.shipRows, 100000, 1000)
	def(&c.batchSize, 10000, 300)
	def(&c.gcRows, 1000000, 5000)
	def(&c.gcCap, 100000, 1000)
	def(&c.encRuns, 30, 3)
	def(&c.rounds, 2, 1)
	if c.jvm == "" {
		c.jvm = "auto"
		if quick {
			c.jvm = "off"
		}
	}
}

func runBench(ctx context.Context, env Env, args []string) error {
	var c benchConfig
	var quick bool
	s := newSet(env, "bench")
	s.Int(&c.events, "events", 0, "events pushed through a child tally serve (default 200000; --quick 2000)")
	s.Int(&c.clients, "clients", 0, "concurrent clients pushing bodies of 100 events (default 8; --quick 4)")
	s.Int(&c.shipRows, "ship-rows", 0, "buffered rows a child tally ship sends (default 100000 or --events when fewer; --quick 1000)")
	s.Int(&c.batchSize, "batch-size", 0, "rows per shipped page (default 10000; --quick 300)")
	s.Int(&c.gcRows, "gc-rows", 0, "telemetry rows before the GC (default 1000000; --quick 5000)")
	s.Int(&c.gcCap, "gc-cap", 0, "telemetry rows the GC keeps (default 100000; --quick 1000)")
	s.Int(&c.encRuns, "encode-runs", 0, "timed warm runs of the 10,000-event page encoder (default 30; --quick 3)")
	s.Int(&c.rounds, "rounds", 0, "times each figure and its yardstick are measured, alternately; the best of each is kept (default 2; --quick 1)")
	s.String(&c.jvm, "jvm", "", "measure the JVM reference encoder too: auto (when java and the harness are there), on, off (default auto; --quick off)")
	s.String(&c.harness, "jvm-harness", "testdata/interop/jvm/run.sh", "the JVM reference harness")
	s.String(&c.dir, "dir", "", "where the temporary databases go (default: a new temp dir)")
	s.Bool(&c.keep, "keep", false, "keep the temporary directory")
	s.Bool(&quick, "quick", false, "small sizes, for a smoke test (figures are not meaningful)")
	if err := s.Parse(args); err != nil {
		return err
	}
	c.defaults(quick)
	if c.shipRows > c.events {
		return fmt.Errorf("--ship-rows %d is more than --events %d", c.shipRows, c.events)
	}
	if c.gcCap >= c.gcRows {
		return fmt.Errorf("--gc-cap %d must be below --gc-rows %d", c.gcCap, c.gcRows)
	}
	switch c.jvm {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("--jvm %q: want auto, on or off", c.jvm)
	}
	b := &bench{cfg: c, log: slog.New(slog.NewTextHandler(env.Stderr, nil))}
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	res.print(env.Stdout)
	return nil
}

type bench struct {
	cfg  benchConfig
	log  *slog.Logger
	exe  string
	dir  string
	now  time.Time
	rows []db.Row // distinct telemetry rows, as ingest makes them
}

// benchResult holds the figures, in the order they are printed.
type benchResult struct {
	ingestPerS, rawInsertPerS          float64
	shipPerS, rawPagePerS, collectPerS float64
	gcSeconds, rawGCSeconds            float64
	gcPeakRSSMB                        float64 // the GC child's peak resident memory
	encodeMs, jvmEncodeMs              float64 // jvmEncodeMs 0: not measured
	startupMs, idleRSSMB, peakRSSMB    float64
	ingestRatio, shipRatio, gcRatio    float64
	shipped                            int64 // rows the child tally ship sent
}

func (r *benchResult) print(w io.Writer) {
	line := func(name, format string, v float64) { fmt.Fprintf(w, "%s "+format+"\n", name, v) }
	line("ingest_events_per_s", "%.0f", r.ingestPerS)
	line("raw_insert_rows_per_s", "%.0f", r.rawInsertPerS)
	line("ingest_vs_raw_ratio", "%.3f", r.ingestRatio)
	line("ship_events_per_s", "%.0f", r.shipPerS)
	line("raw_page_delete_rows_per_s", "%.0f", r.rawPagePerS)
	line("ship_vs_raw_ratio", "%.3f", r.shipRatio)
	line("collect_events_per_s", "%.0f", r.collectPerS)
	line("gc_seconds", "%.3f", r.gcSeconds)
	line("raw_gc_seconds", "%.3f", r.rawGCSeconds)
	line("gc_peak_rss_mb", "%.1f", r.gcPeakRSSMB)
	line("encode_page_ms", "%.2f", r.encodeMs)
	if r.jvmEncodeMs > 0 {
		line("jvm_encode_page_ms", "%.2f", r.jvmEncodeMs)
	}
	line("startup_ms", "%.1f", r.startupMs)
	line("idle_rss_mb", "%.1f", r.idleRSSMB)
	line("peak_rss_mb", "%.1f", r.peakRSSMB)
	fmt.Fprintf(w, "bench: ingest_vs_raw_ratio=%.3f ship_vs_raw_ratio=%.3f gc_vs_raw_ratio=%.3f peak_rss_mb=%.1f\n",
		r.ingestRatio, r.shipRatio, r.gcRatio, r.peakRSSMB)
}

func (b *bench) run(ctx context.Context) (*benchResult, error) {
	var err error
	if b.exe, err = os.Executable(); err != nil {
		return nil, err
	}
	if b.cfg.dir != "" {
		b.dir, err = os.MkdirTemp(b.cfg.dir, "tally-bench-")
	} else {
		b.dir, err = os.MkdirTemp("", "tally-bench-")
	}
	if err != nil {
		return nil, err
	}
	if b.cfg.keep {
		b.log.Info("keeping the temporary directory", "dir", b.dir)
	} else {
		defer os.RemoveAll(b.dir)
	}
	b.now = time.Now().UTC()
	b.rows = make([]db.Row, 1000)
	for i := range b.rows {
		if b.rows[i], err = loadtest.TelemetryRow(i, b.now); err != nil {
			return nil, err
		}
	}
	b.log.Info("bench starting", "events", b.cfg.events, "clients", b.cfg.clients, "ship_rows", b.cfg.shipRows,
		"batch_size", b.cfg.batchSize, "gc_rows", b.cfg.gcRows, "gc_cap", b.cfg.gcCap, "dir", b.dir,
		"cpus", runtime.NumCPU(), "load", loadAvg())

	r := &benchResult{}
	steps := []struct {
		name string
		fn   func(context.Context, *benchResult) error
	}{
		{"ingest", b.ingest},
		{"ship", b.ship},
		{"gc", b.gc},
		{"encode page", b.encodePage},
		{"jvm encode page", b.jvmEncodePage},
	}
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := st.fn(ctx, r); err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		b.log.Info("step done", "step", st.name, "took", time.Since(t0).Round(time.Millisecond), "load", loadAvg())
	}
	r.ingestRatio = ratio(r.ingestPerS, r.rawInsertPerS)
	r.shipRatio = ratio(r.shipPerS, r.rawPagePerS)
	r.gcRatio = ratio(r.gcSeconds, r.rawGCSeconds)
	return r, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// loadAvg is the 1-minute load average, for the log (other work on the
// machine skews the figures).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// childEnv is the environment without TALLY_ and PENPOT_ settings: the
// children get theirs on the command line only.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TALLY_") && !strings.HasPrefix(kv, "PENPOT_") {
			out = append(out, kv)
		}
	}
	return out
}

// tailBuffer keeps the last bytes written to it, for error messages.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = append(t.b[:0], t.b[len(t.b)-4<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

const benchFlags = "enable-telemetry disable-audit-log"

// alternate measures tally and its yardstick rounds times each, in the
// order tally, raw, raw, tally, tally, raw, … (so neither always goes
// first, nor always runs on a warmer or busier machine), and returns the
// best (shortest) time of each.
func (b *bench) alternate(figure string, tally, raw func(round int) (time.Duration, error)) (best [2]time.Duration, err error) {
	for i := range 2 * b.cfg.rounds {
		round, which := i/2, i%2
		if round%2 == 1 {
			which = 1 - which
		}
		run := tally
		if which == 1 {
			run = raw
		}
		d, err := run(round)
		if err != nil {
			return best, err
		}
		b.log.Info("measured", "figure", figure, "raw", which == 1, "round", round, "seconds", d.Seconds(), "load", loadAvg())
		if best[which] == 0 || d < best[which] {
			best[which] = d
		}
	}
	return best, nil
}

// ingest times tally's ingest (ingestRound) against its yardstick: the
// same number of rows inserted with one prepared statement in one
// transaction into a fresh file.
func (b *bench) ingest(ctx context.Context, r *benchResult) error {
	best, err := b.alternate("ingest", func(round int) (time.Duration, error) {
		return b.ingestRound(ctx, round, r)
	}, func(int) (time.Duration, error) {
		path := filepath.Join(b.dir, "raw-insert.db")
		defer removeDB(path)
		if err := loadtest.CreateDB(ctx, path); err != nil {
			return 0, err
		}
		return loadtest.RawInsert(ctx, path, b.rows, b.cfg.events)
	})
	if err != nil {
		return err
	}
	r.ingestPerS = float64(b.cfg.events) / best[0].Seconds()
	r.rawInsertPerS = float64(b.cfg.events) / best[1].Seconds()
	return nil
}

// serveDB is the database of the first ingest round, which the ship
// figure starts from.
func (b *bench) serveDB(round int) string {
	return filepath.Join(b.dir, fmt.Sprintf("serve-%d.db", round))
}

// ingestRound starts a child `tally serve` on a fresh database (timing
// exec to /readyz and reading its idle memory), pushes the events from
// concurrent clients, stops it with SIGTERM, checks that every event was
// stored, and returns the time the pushes took.
func (b *bench) ingestRound(ctx context.Context, round int, r *benchResult) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dbPath := b.serveDB(round)
	if round > 0 {
		defer removeDB(dbPath)
	}
	cmd := exec.Command(b.exe, "serve", "--addr", addr, "--db", dbPath, "--flags", benchFlags,
		"--rate", "0", "--ship-interval", "10000h", "--log-level", "warn")
	cmd.Env = childEnv()
	logs := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs

	// Bodies are made before the clock starts: up to 50 distinct ones,
	// cycled, and a shorter last one when events is not a multiple of 100.
	nreq := (b.cfg.events + loadtest.EventsPerBody - 1) / loadtest.EventsPerBody
	bodies := make([][]byte, min(nreq, 50))
	for i := range bodies {
		if bodies[i], err = loadtest.Body(i*loadtest.EventsPerBody, loadtest.EventsPerBody, b.now); err != nil {
			return 0, err
		}
	}
	var last []byte
	if rem := b.cfg.events % loadtest.EventsPerBody; rem != 0 {
		if last, err = loadtest.Body(0, rem, b.now); err != nil {
			return 0, err
		}
	}

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: b.cfg.clients, MaxConnsPerHost: b.cfg.clients, DisableCompression: true}}
	defer client.CloseIdleConnections()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()
	readyURL := "http://" + addr + "/readyz"
	for {
		resp, err := client.Get(readyURL)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			stopped = true
			return 0, fmt.Errorf("tally serve exited at start-up: %v\n%s", err, logs)
		default:
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("tally serve was not ready after 30s\n%s", logs)
		}
		time.Sleep(time.Millisecond)
	}
	startup := float64(time.Since(start).Microseconds()) / 1000
	time.Sleep(time.Second)
	mem, err := loadtest.ReadMemory(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	idle := loadtest.MiB(mem.RSS)
	// The fastest start-up, the largest idle memory.
	if r.startupMs == 0 || startup < r.startupMs {
		r.startupMs = startup
	}
	r.idleRSSMB = max(r.idleRSSMB, idle)
	b.log.Info("serve ready", "startup_ms", startup, "idle_rss_mb", idle)

	url := "http://" + addr + "/api/main/methods/push-audit-events"
	var next atomic.Int64
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	start = time.Now()
	for range b.cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ictx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= nreq {
					return
				}
				body := bodies[k%len(bodies)]
				if k == nreq-1 && last != nil {
					body = last
				}
				if err := pushBody(ictx, client, url, body); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, fmt.Errorf("push: %w\n%s", firstErr, logs)
	}
	if mem, err := loadtest.ReadMemory(cmd.Process.Pid); err == nil {
		b.log.Info("serve memory after ingest", "rss_mb", loadtest.MiB(mem.RSS), "peak_rss_mb", loadtest.MiB(mem.Peak))
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err = <-exited:
		stopped = true
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("tally serve did not stop within 60s of SIGTERM\n%s", logs)
	}
	if err != nil {
		return 0, fmt.Errorf("tally serve exited with %v\n%s", err, logs)
	}
	d, err := db.Open(ctx, dbPath)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n, err := d.CountTelemetry(ctx)
	if err != nil {
		return 0, err
	}
	// Every pushed event, and the instance-start event of the start-up.
	if want := int64(b.cfg.events) + 1; n != want {
		return 0, fmt.Errorf("%d telemetry rows stored, want %d", n, want)
	}
	return elapsed, nil
}

func pushBody(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/transit+json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	return nil
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", ".ship.lock"} {
		os.Remove(path + suffix)
	}
}

// ship brings the first ingest round's buffer down to shipRows and, on a
// fresh copy of it each time, times a child `tally ship` against an
// in-process receiver (it reads each body, keeps it for the collector
// figure and answers 204) and its yardstick: the same rows read page by
// page and deleted, with no encoding and no HTTP. The first tally round's
// pages then feed the collector figure.
func (b *bench) ship(ctx context.Context, r *benchResult) error {
	src := b.serveDB(0)
	defer removeDB(src)
	d, err := db.Open(ctx, src)
	if err != nil {
		return err
	}
	if _, err := d.GCTelemetry(ctx, int64(b.cfg.shipRows), 0); err != nil {
		d.Close()
		return err
	}
	if err := d.Close(); err != nil {
		return err
	}
	work := filepath.Join(b.dir, "ship-work.db")
	defer removeDB(work)

	var pages []receivedPage
	best, err := b.alternate("ship", func(round int) (time.Duration, error) {
		defer removeDB(work)
		if err := loadtest.CopyFile(work, src); err != nil {
			return 0, err
		}
		d, p, err := b.shipRound(ctx, work, r)
		if round == 0 {
			pages = p
		}
		return d, err
	}, func(int) (time.Duration, error) {
		defer removeDB(work)
		if err := loadtest.CopyFile(work, src); err != nil {
			return 0, err
		}
		n, d, err := loadtest.RawPageDelete(ctx, work, b.cfg.batchSize)
		if err == nil && n != int64(b.cfg.shipRows) {
			err = fmt.Errorf("raw page delete handled %d rows, want %d", n, b.cfg.shipRows)
		}
		return d, err
	})
	if err != nil {
		return err
	}
	r.shipped = int64(b.cfg.shipRows)
	r.shipPerS = float64(b.cfg.shipRows) / best[0].Seconds()
	r.rawPagePerS = float64(b.cfg.shipRows) / best[1].Seconds()
	return b.collect(ctx, r, pages)
}

// shipRound runs one child `tally ship` on the database at path and
// returns its wall time (exec to exit) and the pages it sent; its peak
// resident memory goes to r.peakRSSMB (the largest of the rounds).
func (b *bench) shipRound(ctx context.Context, path string, r *benchResult) (time.Duration, []receivedPage, error) {
	rec := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cmd := exec.CommandContext(ctx, b.exe, "ship", "--db", path, "--flags", benchFlags,
		"--telemetry-uri", "http://"+ln.Addr().String()+"/", "--batch-size", strconv.Itoa(b.cfg.batchSize),
		"--gc-cap", strconv.Itoa(b.cfg.shipRows), "--log-level", "warn")
	cmd.Env = childEnv()
	var out bytes.Buffer
	logs := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &out, logs
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, nil, fmt.Errorf("tally ship: %v\n%s%s", err, out.String(), logs)
	}
	var peak float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = loadtest.MiB(ru.Maxrss << 10) // Linux: kilobytes
		r.peakRSSMB = max(r.peakRSSMB, peak)
	}
	shipped, err := shipOutput(out.String(), "rows_shipped")
	if err != nil {
		return 0, nil, err
	}
	if shipped != int64(b.cfg.shipRows) {
		return 0, nil, fmt.Errorf("tally ship shipped %d rows, want %d\n%s", shipped, b.cfg.shipRows, out.String())
	}
	b.log.Info("ship done", "rows", shipped, "pages", len(rec.pages), "seconds", elapsed.Seconds(), "peak_rss_mb", peak)
	return elapsed, rec.pages, nil
}

func shipOutput(out, key string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("tally ship printed no %s line:\n%s", key, out)
}

// receiver is the minimal telemetry endpoint of the ship figure.
type receiver struct {
	mu    sync.Mutex
	pages []receivedPage
}

type receivedPage struct {
	batchID string
	body    []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if id := r.Header.Get(telemetry.BatchIDHeader); id != "" {
		rc.mu.Lock()
		rc.pages = append(rc.pages, receivedPage{id, body})
		rc.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// collect feeds the shipped page bodies to the collector's own
// decode-and-store, on a database of its own.
func (b *bench) collect(ctx context.Context, r *benchResult, pages []receivedPage) error {
	path := filepath.Join(b.dir, "collect.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		return err
	}
	defer removeDB(path)
	defer d.Close()
	h := &collect.Handler{DB: d, Log: slog.New(slog.DiscardHandler)}
	start := time.Now()
	for _, p := range pages {
		if _, err := h.Store(ctx, p.body, p.batchID); err != nil {
			return fmt.Errorf("collector: %w", err)
		}
	}
	elapsed := time.Since(start)
	_, events, _, err := d.CollectStats(ctx)
	if err != nil {
		return err
	}
	if events != r.shipped {
		return fmt.Errorf("collector stored %d events, want %d", events, r.shipped)
	}
	r.collectPerS = float64(events) / elapsed.Seconds()
	return nil
}

// gc fills a database with gcRows telemetry rows and times tally's GC
// and the raw DELETE on fresh copies of it (see alternate).
func (b *bench) gc(ctx context.Context, r *benchResult) error {
	src := filepath.Join(b.dir, "gc.db")
	work := filepath.Join(b.dir, "gc-work.db")
	defer removeDB(src)
	defer removeDB(work)
	if err := loadtest.CreateDB(ctx, src); err != nil {
		return err
	}
	if err := loadtest.FillTelemetry(ctx, src, b.rows, b.cfg.gcRows, b.now); err != nil {
		return err
	}
	want := int64(b.cfg.gcRows - b.cfg.gcCap)
	best, err := b.alternate("gc", func(int) (time.Duration, error) {
		defer removeDB(work)
		if err := loadtest.CopyFile(work, src); err != nil {
			return 0, err
		}
		d, err := db.Open(ctx, work)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		res, err := d.GCTelemetry(ctx, int64(b.cfg.gcCap), 0)
		elapsed := time.Since(start)
		if cerr := d.Close(); err == nil {
			err = cerr
		}
		if err == nil && res.Total() != want {
			err = fmt.Errorf("the GC deleted %d rows, want %d", res.Total(), want)
		}
		return elapsed, err
	}, func(int) (time.Duration, error) {
		defer removeDB(work)
		if err := loadtest.CopyFile(work, src); err != nil {
			return 0, err
		}
		n, d, err := loadtest.RawGC(ctx, work, int64(b.cfg.gcCap))
		if err == nil && n != want {
			err = fmt.Errorf("the raw GC deleted %d rows, want %d", n, want)
		}
		return d, err
	})
	if err != nil {
		return err
	}
	r.gcSeconds, r.rawGCSeconds = best[0].Seconds(), best[1].Seconds()
	r.gcPeakRSSMB, err = b.gcPeakRSS(ctx, src, work, want)
	return err
}

// gcPeakRSS runs the GC once more in a child `tally ship` with audit-log
// on too, so that the run is the GC and the instance report only (no
// shipping), and returns the child's peak resident memory: what the GC of
// gcRows rows costs in memory.
func (b *bench) gcPeakRSS(ctx context.Context, src, work string, want int64) (float64, error) {
	defer removeDB(work)
	if err := loadtest.CopyFile(work, src); err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: &receiver{}, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	cmd := exec.CommandContext(ctx, b.exe, "ship", "--db", work, "--flags", "enable-telemetry enable-audit-log",
		"--telemetry-uri", "http://"+ln.Addr().String()+"/", "--gc-cap", strconv.Itoa(b.cfg.gcCap),
		"--log-level", "warn")
	cmd.Env = childEnv()
	var out bytes.Buffer
	logs := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &out, logs
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("tally ship (GC only): %v\n%s%s", err, out.String(), logs)
	}
	if n, err := shipOutput(out.String(), "gc_deleted"); err != nil || n != want {
		return 0, fmt.Errorf("tally ship (GC only) deleted %d rows, want %d (%v)", n, want, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("no resource usage for the GC child")
	}
	return loadtest.MiB(ru.Maxrss << 10), nil // Linux: kilobytes
}

// encodePage times the ship path's encoder (stored rows → fressian →
// zstd → base64 → request body) on the JVM harness's page, warm: as many
// untimed runs first as timed ones, then the mean.
func (b *bench) encodePage(ctx context.Context, r *benchResult) error {
	rows, err := loadtest.PageRows(10000)
	if err != nil {
		return err
	}
	var enc telemetry.PageEncoder
	instance := uuid.New()
	for range b.cfg.encRuns {
		if _, err := enc.Encode(Version, instance, rows); err != nil {
			return err
		}
	}
	var total time.Duration
	for range b.cfg.encRuns {
		start := time.Now()
		if _, err := enc.Encode(Version, instance, rows); err != nil {
			return err
		}
		total += time.Since(start)
	}
	r.encodeMs = float64(total.Microseconds()) / 1000 / float64(b.cfg.encRuns)
	return nil
}

var jvmMeanRE = regexp.MustCompile(`fressian\+zstd\+base64 encode: mean ([0-9.]+) ms`)

// jvmEncodePage runs the JVM reference harness's warm encode of the same
// page (mean of 30 warm runs after 30 untimed ones), when it can.
func (b *bench) jvmEncodePage(ctx context.Context, r *benchResult) error {
	if b.cfg.jvm == "off" {
		return nil
	}
	skip := func(why string) error {
		if b.cfg.jvm == "on" {
			return errors.New(why)
		}
		b.log.Info("JVM reference not measured", "why", why)
		return nil
	}
	if _, err := os.Stat(b.cfg.harness); err != nil {
		return skip(fmt.Sprintf("no harness at %s (run from the repository root or pass --jvm-harness)", b.cfg.harness))
	}
	if _, err := exec.LookPath("java"); err != nil && os.Getenv("TALLY_JAVA") == "" {
		return skip("java is not installed")
	}
	jctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(jctx, b.cfg.harness, "bench", "10000").CombinedOutput()
	if err != nil {
		return skip(fmt.Sprintf("the JVM harness failed: %v: %s", err, lastLines(string(out), 3)))
	}
	m := jvmMeanRE.FindStringSubmatch(string(out))
	if m == nil {
		return skip("the JVM harness printed no encode time: " + lastLines(string(out), 3))
	}
	r.jvmEncodeMs, err = strconv.ParseFloat(m[1], 64)
	return err
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}
