package fressian_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"tally/telemetry/blob"
	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

// TestInteropJVMReadsGo has the Java reader (org.fressian with Penpot's
// handlers, zstd-jni for blobs) decode what the Go writer produced: every
// golden fixture, as raw fressian and as a blob string, a streamed event
// page, and random values. It skips when java or the jars are missing.
func TestInteropJVMReadsGo(t *testing.T) {
	jvm := fresstest.RequireJVM(t)
	dir := t.TempDir()
	want := map[string]string{}
	add := func(name string, v value.Value, expected string) {
		t.Helper()
		b, err := fressian.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw := filepath.Join(dir, name+".fress")
		str := filepath.Join(dir, name+".blob")
		if err := os.WriteFile(raw, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(str, blob.AppendString(nil, b), 0o644); err != nil {
			t.Fatal(err)
		}
		want[raw], want[str] = expected, expected
	}
	for _, f := range fresstest.Fixtures(t) {
		payload, err := blob.DecodeString(f.Blob)
		if err != nil {
			t.Fatal(err)
		}
		v, err := fressian.Unmarshal(payload)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		add("fixture-"+f.Name, v, f.Expected)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		v := fresstest.Random(r, 4)
		add(fmt.Sprintf("random-%03d", i), v, fresstest.Expected(fresstest.Canon(v)))
	}
	var e fressian.Encoder
	page := fresstest.Page(500)
	streamPage(&e, page)
	streamed := filepath.Join(dir, "streamed-page.blob")
	if err := os.WriteFile(streamed, blob.AppendString(nil, e.Bytes()), 0o644); err != nil {
		t.Fatal(err)
	}
	want[streamed] = fresstest.Expected(fresstest.Canon(page))

	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	got := jvm.Decode(t, paths)
	for _, p := range paths {
		if g, w := fresstest.Expected(got[p]), want[p]; g != w {
			t.Errorf("%s: the JVM read\n %.1000s\nwant\n %.1000s", filepath.Base(p), g, w)
		}
	}
}
