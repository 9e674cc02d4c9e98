package fresstest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"tally/telemetry/internal/interop"
	"testing"
)

// Dir returns the absolute path of testdata/interop/jvm.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "interop", "jvm")
}

// A Fixture is one golden value written by the JVM harness.
type Fixture struct {
	Name     string
	Fress    []byte // raw fressian, nil when only the blob was kept (large values)
	Blob     string // blob v4 string form made by Penpot's encode-v4 and zstd-jni
	Expected string // canonical form of what the Java reader reads back (see Expected)
}

// Fixtures loads every fixture in testdata/interop/jvm/fixtures.
func Fixtures(t testing.TB) []Fixture {
	t.Helper()
	dir := filepath.Join(Dir(), "fixtures")
	txts, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(txts) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	sort.Strings(txts)
	var fs []Fixture
	for _, txt := range txts {
		name := strings.TrimSuffix(filepath.Base(txt), ".txt")
		f := Fixture{Name: name}
		exp, err := os.ReadFile(txt)
		if err != nil {
			t.Fatal(err)
		}
		f.Expected = strings.TrimSuffix(string(exp), "\n")
		blob, err := os.ReadFile(filepath.Join(dir, name+".blob"))
		if err != nil {
			t.Fatal(err)
		}
		f.Blob = strings.TrimSpace(string(blob))
		if b, err := os.ReadFile(filepath.Join(dir, name+".fress")); err == nil {
			f.Fress = b
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

// JVM runs the reference harness; see testdata/interop/jvm/README.md.
type JVM struct {
	script string
}

// RequireJVM returns the harness, or skips the test when java or the
// Debian jars it needs are missing.
func RequireJVM(t testing.TB) *JVM {
	t.Helper()
	if testing.Short() {
		t.Skip("JVM interop skipped in -short mode")
	}
	java := os.Getenv("TALLY_JAVA")
	if java == "" {
		java = "java"
	}
	if _, err := exec.LookPath(java); err != nil {
		interop.Missing(t, "JVM interop skipped: %s not found (apt-get install default-jre-headless)", java)
	}
	if os.Getenv("TALLY_JVM_CLASSPATH") == "" {
		for _, jar := range []string{"clojure.jar", "spec.alpha.jar", "core.specs.alpha.jar", "data.fressian.jar", "fressian.jar", "zstd-jni.jar"} {
			if _, err := os.Stat(filepath.Join("/usr/share/java", jar)); err != nil {
				interop.Missing(t, "JVM interop skipped: /usr/share/java/%s missing (apt-get install clojure libfressian-java libdata-fressian-clojure libzstd-jni-java)", jar)
			}
		}
	}
	return &JVM{script: filepath.Join(Dir(), "run.sh")}
}

// Decode has the Java reader decode each file (".blob": blob string,
// otherwise raw fressian) and returns the canonical form it printed for
// each path, or "ERROR: ..." for a file it could not read.
func (j *JVM) Decode(t testing.TB, paths []string) map[string]string {
	t.Helper()
	cmd := exec.Command("sh", append([]string{j.script, "decode"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("JVM harness failed: %v\n%s", err, stderr.String())
	}
	res := make(map[string]string, len(paths))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		path, form, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			res[path] = form
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return res
}
