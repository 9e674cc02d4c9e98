package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrLocked is returned when another run holds the task lock for longer
// than the wait allows.
var ErrLocked = errors.New("another telemetry run holds the lock")

// runLock is an exclusive flock on a lock file beside the database. The
// kernel drops it when its process dies, so a crashed run never blocks
// the next one. flock locks belong to an open file description, so two
// runs in one process exclude each other too.
type runLock struct{ f *os.File }

// acquireLock takes the lock at path, retrying until wait has passed.
func acquireLock(ctx context.Context, path string, wait time.Duration) (*runLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &runLock{f: f}, nil
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

func (l *runLock) release() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
