// Package runlock is the cross-process lock that keeps one telemetry run,
// one archive run or one migration at a time on a database file: an
// exclusive flock
// on a lock file beside it, which the kernel drops when the process dies,
// so a crashed run never blocks the next one.
package runlock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrLocked is returned when another run holds the lock for longer than
// the wait allows.
var ErrLocked = errors.New("another run holds the lock")

// Lock is a held lock. flock locks belong to an open file description, so
// two runs in one process exclude each other too.
type Lock struct{ f *os.File }

// Acquire takes the lock at path, retrying until wait has passed.
func Acquire(ctx context.Context, path string, wait time.Duration) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (%s) after waiting %s", ErrLocked, path, wait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Release gives the lock up.
func (l *Lock) Release() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// Beside returns the lock file for a database file: name added to the
// file's real path, so that two paths to one file (a symlink) share one
// lock.
func Beside(dbPath, name string) string {
	if real, err := filepath.EvalSymlinks(dbPath); err == nil {
		dbPath = real
	}
	return dbPath + "." + name + ".lock"
}
