package runlock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAcquireExcludesAndReleases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, path, 150*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire = %v, want ErrLocked", err)
	}
	l.Release()
	l2, err := Acquire(ctx, path, time.Second)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

func TestBesideFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	if err := os.WriteFile(real, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if a, b := Beside(real, "ship"), Beside(link, "ship"); a != b || a != real+".ship.lock" {
		t.Fatalf("Beside(real) = %s, Beside(link) = %s; want both %s.ship.lock", a, b, real)
	}
	if got := Beside(filepath.Join(dir, "new.db"), "migrate"); got != filepath.Join(dir, "new.db")+".migrate.lock" {
		t.Fatalf("Beside(new file) = %s", got)
	}
}
