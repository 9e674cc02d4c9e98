package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tally/db"
	"tally/telemetry/collect"
)

// tallyBin is the tally binary built once for the tests that run the whole
// program as a child process.
var tallyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tally-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tallyBin = filepath.Join(dir, "tally")
	out, err := exec.Command("go", "build", "-o", tallyBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building tally: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tally runs a one-shot tally command and returns its stdout, failing the
// test on a non-zero exit.
func tally(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := tallyErr(args...)
	if err != nil {
		t.Fatalf("tally %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func tallyErr(args ...string) (string, string, error) {
	cmd := exec.Command(tallyBin, args...)
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// cleanEnv is the environment without TALLY_ and PENPOT_ settings, so
// tests are not steered by the machine they run on.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TALLY_") && !strings.HasPrefix(kv, "PENPOT_") {
			env = append(env, kv)
		}
	}
	return env
}

// server is a running `tally serve` child process.
type server struct {
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var addrRE = regexp.MustCompile(`msg="tally serving" addr=(\S+)`)

// startServe starts `tally serve` on a free loopback port and waits until
// /readyz answers.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(tallyBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = cleanEnv()
	pr, pw := io.Pipe()
	s := &server{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(pw, s.logs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); pw.Close(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case s.addr = <-found:
	case <-s.done:
		t.Fatalf("tally serve exited: %v\n%s", s.err, s.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("tally serve did not start:\n%s", s.logs.String())
	}
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 200 {
			t.Fatalf("/readyz never answered 200:\n%s", s.logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

// pushJSON pushes n frontend events as a JSON body and checks the 204.
func pushJSON(t *testing.T, url string, n int, name string) {
	t.Helper()
	var events []string
	for i := 0; i < n; i++ {
		events = append(events, fmt.Sprintf(`{"name":"%s-%d","type":"action","props":{"fileName":"secret"},`+
			`"context":{"browser":"firefox","email":"a@b.c"},"timestamp":%d}`, name, i, time.Now().UnixMilli()))
	}
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"events":[`+strings.Join(events, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("push: status %d: %s", resp.StatusCode, body)
	}
}

func lines(s string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			panic(fmt.Sprintf("not JSON: %q", l))
		}
		out = append(out, m)
	}
	return out
}

// The offline pipeline of the README: serve with its embedded collector,
// push events, ship beside the live server, and see what was received.
func TestOfflinePipeline(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	s := startServe(t, "--db", dbPath)
	pushJSON(t, s.url("/api/main/methods/push-audit-events"), 3, "open-file")

	rows := lines(tally(t, "events", "--db", dbPath, "--source", "telemetry"))
	// instance-start is a backend event: it has a telemetry row too.
	if len(rows) != 4 {
		t.Fatalf("%d telemetry rows, want 4 (instance-start and 3 pushed)", len(rows))
	}
	r := rows[1]
	if r["ip_addr"] != "0.0.0.0" || r["source"] != "telemetry" || fmt.Sprint(r["props"]) != "map[]" ||
		!strings.HasSuffix(r["created_at"].(string), "T00:00:00.000Z") {
		t.Fatalf("telemetry row = %v", r)
	}
	if fmt.Sprint(r["context"]) != "map[browser:firefox]" {
		t.Fatalf("context = %v, want only the browser", r["context"])
	}

	out := tally(t, "ship", "--db", dbPath, "--telemetry-uri", s.url("/collect/"))
	if !strings.Contains(out, "rows_shipped 4") {
		t.Fatalf("ship printed:\n%s", out)
	}
	if rows := tally(t, "events", "--db", dbPath, "--source", "telemetry"); strings.TrimSpace(rows) != "" {
		t.Fatalf("telemetry rows left after ship:\n%s", rows)
	}
	got := lines(tally(t, "received", "--db", dbPath))
	if len(got) != 4 {
		t.Fatalf("collector received %d events, want 4", len(got))
	}
	if got[1]["name"] != "open-file-0" || got[1]["source"] != "telemetry" || got[1]["batch_id"] == "" {
		t.Fatalf("received = %v", got[1])
	}
	reports := lines(tally(t, "received", "--db", dbPath, "--reports"))
	if len(reports) != 1 {
		t.Fatalf("%d reports received, want 1", len(reports))
	}
	ledger := lines(tally(t, "ledger", "--db", dbPath))
	if len(ledger) != 1 || ledger[0]["state"] != "accepted" || ledger[0]["row_count"] != float64(4) {
		t.Fatalf("ledger = %v", ledger)
	}
}

// Crash safety: the shipping process is killed (SIGKILL) after the
// endpoint stored a page and before the process could delete its rows.
// The next run re-sends that page under the same batch id first; the
// collector drops the duplicate, and nothing is lost or stored twice.
func TestShipCrashResendsPage(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tally.db")
	collectDB, err := db.Open(context.Background(), filepath.Join(dir, "collect.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer collectDB.Close()

	s := startServe(t, "--db", dbPath)
	pushJSON(t, s.url("/api/main/methods/push-audit-events"), 5, "e")
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done

	var mu sync.Mutex
	var child *exec.Cmd
	var batchIDs []string
	killed := false
	exited := make(chan struct{})
	h := &collect.Handler{DB: collectDB}
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if id := r.Header.Get("X-Tally-Batch-Id"); id != "" {
			batchIDs = append(batchIDs, id)
			if !killed {
				// Store the page, then kill the sender before it hears back.
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != 204 {
					t.Errorf("collector answered %d: %s", rec.Code, rec.Body)
				}
				child.Process.Signal(syscall.SIGKILL)
				<-exited // answer only once the sender is gone
				killed = true
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	defer ep.Close()

	mu.Lock()
	child = exec.Command(tallyBin, "ship", "--db", dbPath, "--telemetry-uri", ep.URL+"/")
	child.Env = cleanEnv()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
	child.Wait()
	close(exited)

	if rows := lines(tally(t, "events", "--db", dbPath, "--source", "telemetry")); len(rows) != 6 {
		t.Fatalf("%d telemetry rows after the crash, want all 6 kept", len(rows))
	}
	ledger := lines(tally(t, "ledger", "--db", dbPath))
	if len(ledger) != 1 || ledger[0]["state"] != "pending" {
		t.Fatalf("ledger after the crash = %v, want one pending page", ledger)
	}

	tally(t, "ship", "--db", dbPath, "--telemetry-uri", ep.URL+"/")
	if len(batchIDs) != 2 || batchIDs[0] != batchIDs[1] {
		t.Fatalf("batch ids sent = %v, want the same page twice", batchIDs)
	}
	if rows := strings.TrimSpace(tally(t, "events", "--db", dbPath, "--source", "telemetry")); rows != "" {
		t.Fatalf("telemetry rows left:\n%s", rows)
	}
	batches, events, dups, err := collectDB.CollectStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if batches != 1 || events != 6 || dups != 1 {
		t.Fatalf("collector: %d batches, %d events, %d duplicates; want 1, 6, 1", batches, events, dups)
	}
	ledger = lines(tally(t, "ledger", "--db", dbPath))
	if ledger[0]["state"] != "accepted" || ledger[0]["attempts"] != float64(2) {
		t.Fatalf("ledger = %v", ledger)
	}
}

func TestBadSettingStopsWithItsName(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--ship-interval", "soon"}, "ship-interval"},
		{[]string{"serve", "--flags", "telemetry"}, "flags"},
		{[]string{"serve", "--max-body", "big"}, "max-body"},
		{[]string{"ship", "--telemetry-uri", "not a uri"}, "telemetry-uri"},
		{[]string{"serve", "--addr", "0.0.0.0:0", "--db", filepath.Join(t.TempDir(), "x.db")}, "allow-anonymous-public"},
	}
	for _, tt := range tests {
		_, errOut, err := tallyErr(tt.args...)
		if err == nil {
			t.Errorf("tally %v succeeded", tt.args)
			continue
		}
		if !strings.Contains(errOut, tt.want) {
			t.Errorf("tally %v: message %q does not name %s", tt.args, errOut, tt.want)
		}
	}
}
