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

	"github.com/google/uuid"

	"tally/db"
	"tally/server/cli"
	"tally/telemetry/audit"
	"tally/telemetry/blob"
	"tally/telemetry/collect"
	"tally/telemetry/value"
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

// post sends body to url with the given headers and returns the status
// and the response body.
func post(t *testing.T, url, contentType, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tallyIn runs a one-shot tally command with stdin and returns its stdout.
func tallyIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tallyBin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("tally %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// stop ends a `tally serve` child with SIGTERM and waits for it.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	if s.err != nil {
		t.Fatalf("tally serve exited with %v:\n%s", s.err, s.logs.String())
	}
}

// TestInstanceStart: every start stores one trigger event instance-start
// with props {version, flags, public-uri}, before the server says it is
// ready.
func TestInstanceStart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	s := startServe(t, "--db", dbPath, "--flags", "enable-audit-log", "--public-uri", "https://x.example")

	rows := lines(tally(t, "events", "--db", dbPath, "--source", "backend"))
	if len(rows) != 1 {
		t.Fatalf("%d backend rows, want 1 (instance-start): %v", len(rows), rows)
	}
	r := rows[0]
	if r["name"] != "instance-start" || r["type"] != "trigger" || r["source"] != "backend" ||
		r["ip_addr"] != "0.0.0.0" || r["profile_id"] != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("instance-start row = %v", r)
	}
	props, _ := json.Marshal(r["props"])
	if got, want := string(props),
		`{"flags":["audit-log","telemetry"],"public-uri":"https://x.example","version":"`+cli.Version+`"}`; got != want {
		t.Errorf("instance-start props = %s, want %s", got, want)
	}
	tele := lines(tally(t, "events", "--db", dbPath, "--source", "telemetry"))
	if len(tele) != 1 || tele[0]["name"] != "instance-start" || fmt.Sprint(tele[0]["props"]) != "map[]" {
		t.Errorf("telemetry rows = %v, want instance-start without props", tele)
	}

	// No --shared-key: the management route does not exist.
	if code, body := post(t, s.url("/api/management/methods/push-backend-events"), "application/json",
		`{"events":[]}`, map[string]string{"x-shared-key": "anything"}); code != http.StatusNotFound {
		t.Errorf("push-backend-events without --shared-key: %d %s, want 404", code, body)
	}

	s.stop(t)
	startServe(t, "--db", dbPath, "--flags", "enable-audit-log")
	rows = lines(tally(t, "events", "--db", dbPath, "--source", "backend"))
	if len(rows) != 2 || rows[1]["name"] != "instance-start" {
		t.Fatalf("after a restart: backend rows %v, want two instance-start", rows)
	}
	if got := rows[1]["props"].(map[string]any)["public-uri"]; got != "" {
		t.Errorf("public-uri with none configured = %q, want empty", got)
	}
}

// TestTokensCommand: tokens are made, listed and revoked by command; a
// running `serve --auth token` takes them, stores the token's profile,
// and refuses a token revoked by another process from the next request
// on. The file never holds a secret.
func TestTokensCommand(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	const profile = "7d3e5f1a-2b4c-4d6e-8f0a-1b2c3d4e5f60"

	created := lines(tally(t, "tokens", "create", "--db", dbPath, "--profile", profile, "--expires", "1h"))
	if len(created) != 1 {
		t.Fatalf("tokens create printed %d lines", len(created))
	}
	tok := created[0]
	id, _ := tok["id"].(string)
	secret, _ := tok["secret"].(string)
	if id == "" || len(secret) < 32 || tok["profile_id"] != profile {
		t.Fatalf("tokens create = %v", tok)
	}
	exp, err1 := time.Parse(time.RFC3339, fmt.Sprint(tok["expires_at"]))
	at, err2 := time.Parse(time.RFC3339, fmt.Sprint(tok["created_at"]))
	if err1 != nil || err2 != nil || exp.Sub(at) != time.Hour {
		t.Errorf("created_at %v, expires_at %v: want an expiry exactly 1h after creation", tok["created_at"], tok["expires_at"])
	}
	forever := lines(tally(t, "tokens", "create", "--db", dbPath, "--profile", profile))[0]
	if forever["expires_at"] != nil {
		t.Errorf("token without --expires: expires_at = %v, want null", forever["expires_at"])
	}
	if _, errOut, err := tallyErr("tokens", "create", "--db", dbPath, "--profile", "nobody"); err == nil ||
		!strings.Contains(errOut, "profile") {
		t.Errorf("tokens create --profile nobody: %v %q, want a failure naming --profile", err, errOut)
	}

	list := tally(t, "tokens", "list", "--db", dbPath)
	if strings.Contains(list, "secret") || strings.Contains(list, secret) {
		t.Errorf("tokens list shows a secret:\n%s", list)
	}
	if l := lines(list); len(l) != 2 || l[0]["id"] != id || l[0]["profile_id"] != profile {
		t.Errorf("tokens list = %v", l)
	}

	s := startServe(t, "--db", dbPath, "--auth", "token", "--flags", "enable-audit-log disable-telemetry")
	push := s.url("/api/main/methods/push-audit-events")
	body := `{"events":[{"name":"open-file","type":"action","props":{},"timestamp":` +
		fmt.Sprint(time.Now().UnixMilli()) + `}]}`
	auth := map[string]string{"Authorization": "Token " + secret}
	if code, resp := post(t, push, "application/json", body, auth); code != http.StatusNoContent {
		t.Fatalf("push with the token: %d %s", code, resp)
	}
	rows := lines(tally(t, "events", "--db", dbPath, "--source", "frontend"))
	if len(rows) != 1 || rows[0]["profile_id"] != profile {
		t.Fatalf("frontend rows = %v, want one with profile %s", rows, profile)
	}
	for name, h := range map[string]map[string]string{
		"no header":    nil,
		"wrong secret": {"Authorization": "Token " + secret + "x"},
	} {
		if code, resp := post(t, push, "application/json", body, h); code != http.StatusUnauthorized {
			t.Errorf("push with %s: %d %s, want 401", name, code, resp)
		}
	}

	tally(t, "tokens", "revoke", "--db", dbPath, id)
	code, resp := post(t, push, "application/json", body, auth)
	if code != http.StatusUnauthorized || !strings.Contains(resp, "invalid-token") {
		t.Errorf("push right after revoke: %d %s, want 401 invalid-token", code, resp)
	}
	if l := lines(tally(t, "tokens", "list", "--db", dbPath)); l[0]["revoked_at"] == nil || l[1]["revoked_at"] != nil {
		t.Errorf("tokens list after revoke = %v", l)
	}
	if _, _, err := tallyErr("tokens", "revoke", "--db", dbPath, "no-such-id"); err == nil {
		t.Errorf("revoking an unknown token succeeded")
	}
	// The other token still works.
	if code, resp := post(t, push, "application/json", body,
		map[string]string{"Authorization": "Token " + forever["secret"].(string)}); code != http.StatusNoContent {
		t.Errorf("push with the other token: %d %s", code, resp)
	}
	if n := len(lines(tally(t, "events", "--db", dbPath, "--source", "frontend"))); n != 2 {
		t.Errorf("%d frontend rows, want 2 (nothing stored for refused pushes)", n)
	}

	// No secret in the file, its WAL or its shared memory, before or
	// after the server's checkpoint.
	check := func(when string) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(dbPath + suffix)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range []string{secret, forever["secret"].(string)} {
				if bytes.Contains(b, []byte(sec)) || bytes.Contains(b, []byte(strings.TrimPrefix(sec, "tly_"))) {
					t.Errorf("%s: %s%s holds a token secret", when, filepath.Base(dbPath), suffix)
				}
			}
		}
	}
	check("while serving")
	s.stop(t)
	check("after shutdown")
}

// TestManagementRoute: a backend in another process pushes events with
// Penpot's "<key-id> <key>" shared key; they are stored as backend rows
// with the key id as initiator and the body's profile and address.
func TestManagementRoute(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	s := startServe(t, "--db", dbPath, "--flags", "enable-audit-log", "--shared-key", "s3cret-K")
	url := s.url("/api/management/methods/push-backend-events")
	const profile = "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
	body := `{"events":[{"name":"export-file","type":"action","profileId":"` + profile + `",` +
		`"ipAddr":"203.0.113.9","props":{"format":"pdf","password":"x"},"context":{"initiator":"fake"}}]}`

	if code, resp := post(t, url, "application/json", body, map[string]string{"x-shared-key": "mykey wrong"}); code != http.StatusForbidden {
		t.Errorf("wrong key: %d %s, want 403", code, resp)
	}
	if code, resp := post(t, url, "application/json", body, nil); code != http.StatusForbidden {
		t.Errorf("no key: %d %s, want 403", code, resp)
	}
	if code, resp := post(t, url, "application/json", body,
		map[string]string{"x-shared-key": "mykey s3cret-K", "User-Agent": "exporter/1"}); code != http.StatusNoContent {
		t.Fatalf("push: %d %s, want 204", code, resp)
	}
	var got map[string]any
	for _, r := range lines(tally(t, "events", "--db", dbPath, "--source", "backend")) {
		if r["name"] == "export-file" {
			if got != nil {
				t.Fatalf("export-file stored twice")
			}
			got = r
		}
	}
	if got == nil {
		t.Fatalf("no backend row export-file")
	}
	ctx, _ := got["context"].(map[string]any)
	if ctx["initiator"] != "mykey" || ctx["version"] != cli.Version || ctx["client-user-agent"] != "exporter/1" {
		t.Errorf("context = %v, want initiator mykey, version %s, client-user-agent exporter/1", ctx, cli.Version)
	}
	if got["profile_id"] != profile || got["ip_addr"] != "203.0.113.9" || got["type"] != "action" {
		t.Errorf("row = %v", got)
	}
	if p := fmt.Sprint(got["props"]); p != "map[format:pdf]" {
		t.Errorf("props = %s, want only format", p)
	}
}

// TestDecodeCommand: a telemetry-events body captured from `tally ship`
// decodes, from standard input and as an argument, to JSON with keywords
// as names, uuids as strings and instants in RFC 3339 with milliseconds.
func TestDecodeCommand(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tally.db")
	const profile = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	l := &audit.Logger{Store: d, Flags: audit.Flags{Telemetry: true}}
	for _, name := range []string{"open-file", "export-shapes"} {
		ctx := &value.Map{}
		ctx.Append(value.K("version"), "9.9.9")
		if err := l.Submit(context.Background(), audit.Event{Name: name, Type: audit.TypeAction,
			ProfileID: uuid.MustParse(profile), Context: ctx}); err != nil {
			t.Fatal(err)
		}
	}
	instance, err := d.InstanceID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var captured string
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"telemetry-events"`) {
			mu.Lock()
			captured = string(b)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ep.Close()
	tally(t, "ship", "--db", dbPath, "--telemetry-uri", ep.URL+"/")
	mu.Lock()
	body := captured
	mu.Unlock()
	if body == "" {
		t.Fatal("tally ship sent no telemetry-events body")
	}

	today := time.Now().UTC().Format("2006-01-02") + "T00:00:00.000Z"
	check := func(how, out string) {
		t.Helper()
		var got struct {
			Type       string           `json:"type"`
			Version    string           `json:"version"`
			InstanceID string           `json:"instance-id"`
			Events     []map[string]any `json:"events"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", how, err, out)
		}
		if got.Type != "telemetry-events" || got.Version != cli.Version || got.InstanceID != instance.String() ||
			len(got.Events) != 2 {
			t.Fatalf("%s: decoded = %s", how, out)
		}
		// The body's own keys stay in their order, events in place.
		if !strings.HasPrefix(out, `{"type":"telemetry-events","version":"`+cli.Version+`","instance-id":"`) {
			t.Errorf("%s: key order changed: %.80s", how, out)
		}
		e := got.Events[0]
		want := map[string]any{"name": "open-file", "type": "action", "source": "telemetry",
			"profile-id": profile, "props": map[string]any{}, "context": map[string]any{"version": "9.9.9"}}
		if e["tracked-at"] != today && e["tracked-at"] != time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")+"T00:00:00.000Z" {
			t.Errorf("%s: tracked-at = %v, want the day as RFC 3339 with milliseconds (%s)", how, e["tracked-at"], today)
		}
		delete(e, "tracked-at")
		if fmt.Sprint(e) != fmt.Sprint(want) {
			t.Errorf("%s: event = %v, want %v", how, e, want)
		}
	}
	check("stdin", tallyIn(t, body+"\n", "decode", "-"))
	check("argument", tally(t, "decode", body))

	// A blob string alone, with a keyword value, a namespaced keyword, a
	// set, a uuid and an instant.
	v := &value.Map{}
	v.Append(value.K("kind"), value.K("pdf"))
	v.Append(value.Keyword{NS: "app.main", Name: "origin"}, value.Set{value.K("workspace")})
	v.Append(value.K("id"), uuid.MustParse(profile))
	v.Append(value.K("at"), value.Instant(1767225600007))
	s, err := blob.EncodeValue(value.Vector{v})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"kind":"pdf","app.main/origin":["workspace"],"id":"` + profile + `","at":"2026-01-01T00:00:00.007Z"}]`
	if got := strings.TrimSpace(tally(t, "decode", s)); got != want {
		t.Errorf("decode BLOB =\n%s\nwant\n%s", got, want)
	}
	if got := strings.TrimSpace(tallyIn(t, s, "decode")); got != want {
		t.Errorf("decode < BLOB =\n%s\nwant\n%s", got, want)
	}
	if _, errOut, err := tallyErr("decode", "not-a-blob"); err == nil || errOut == "" {
		t.Errorf("decode of garbage: %v %q, want a failure with a message", err, errOut)
	}
}

// TestArchiveCommand: `tally archive` sends the audit rows to the archive
// endpoint with the key, and with audit-log-gc deletes them; telemetry
// rows stay. It needs the audit-log-archive flag and an --archive-uri;
// so does `serve` with the flag, which then fails before it stores or
// serves anything.
func TestArchiveCommand(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "tally.db")
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	l := &audit.Logger{Store: d, Flags: audit.Flags{AuditLog: true, Telemetry: true}}
	for i := 0; i < 130; i++ {
		if err := l.Submit(context.Background(), audit.Event{Name: fmt.Sprintf("e%d", i), Type: audit.TypeAction}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var keys []string
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("X-Shared-Key"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ep.Close()

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"archive", "--db", dbPath, "--archive-uri", ep.URL}, "audit-log-archive"},
		{[]string{"archive", "--db", dbPath, "--flags", "enable-audit-log-archive"}, "archive-uri"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--db", dbPath, "--flags", "enable-audit-log enable-audit-log-archive"}, "archive-uri"},
	} {
		if _, errOut, err := tallyErr(tt.args...); err == nil || !strings.Contains(errOut, tt.want) {
			t.Errorf("tally %v: %v %q, want a failure naming %s", tt.args, err, errOut, tt.want)
		}
	}
	if n := len(lines(tally(t, "events", "--db", dbPath, "--source", "backend"))); n != 130 {
		t.Fatalf("%d backend rows after the refused commands, want 130 (nothing stored)", n)
	}
	sentKeys := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(keys, ",")
	}
	if got := sentKeys(); got != "" {
		t.Fatalf("refused commands sent requests: %s", got)
	}

	out := tally(t, "archive", "--db", dbPath, "--flags", "enable-audit-log-archive enable-audit-log-gc",
		"--archive-uri", ep.URL, "--archive-key", "k3y")
	if got, want := out, "archived 130\ndeleted 130\n"; got != want {
		t.Errorf("tally archive printed %q, want %q", got, want)
	}
	if got, want := sentKeys(), "tally k3y,tally k3y"; got != want {
		t.Errorf("x-shared-key headers = %s, want %s", got, want)
	}
	if n := len(lines(tally(t, "events", "--db", dbPath, "--source", "backend"))); n != 0 {
		t.Errorf("%d backend rows left, want 0", n)
	}
	if n := len(lines(tally(t, "events", "--db", dbPath, "--source", "telemetry"))); n != 130 {
		t.Errorf("%d telemetry rows left, want 130", n)
	}
}
