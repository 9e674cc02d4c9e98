package db

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxGroupRows bounds how many rows one group-commit transaction takes, so
// a burst does not hold the write lock for long.
const maxGroupRows = 20000

// ErrClosed is returned by Insert after Close.
var ErrClosed = errors.New("db: closed")

// inserter groups concurrent Insert calls into shared transactions: one
// goroutine owns the writer for inserts; each caller waits until the
// transaction holding its rows has committed. When a shared transaction
// fails, each request in it is retried alone, so one bad request cannot
// fail another.
type inserter struct {
	d       *DB
	reqs    chan *insertReq
	quit    chan struct{}
	stopped chan struct{} // closed when the loop has exited
	once    sync.Once
}

type insertReq struct {
	ctx  context.Context
	rows []Row
	done chan error
}

func newInserter(d *DB) *inserter {
	in := &inserter{d: d, reqs: make(chan *insertReq, 256), quit: make(chan struct{}), stopped: make(chan struct{})}
	go in.loop()
	return in
}

func (in *inserter) insert(ctx context.Context, rows []Row) error {
	req := &insertReq{ctx: ctx, rows: rows, done: make(chan error, 1)}
	select {
	case in.reqs <- req:
	case <-in.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once the loop has taken the request it always answers: waiting here
	// even when ctx ends keeps the caller from reporting a failure for
	// rows that did commit. A request queued after the loop's last drain
	// is never taken, and its rows never stored.
	select {
	case err := <-req.done:
		return err
	case <-in.stopped:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

func (in *inserter) stop() {
	in.once.Do(func() { close(in.quit) })
	<-in.stopped
}

func (in *inserter) loop() {
	defer close(in.stopped)
	var group []*insertReq
	for {
		group = group[:0]
		select {
		case req := <-in.reqs:
			group = append(group, req)
		case <-in.quit:
			// Answer whatever is still queued, then stop.
			for {
				select {
				case req := <-in.reqs:
					in.commit([]*insertReq{req})
				default:
					return
				}
			}
		}
		n := len(group[0].rows)
	gather:
		for n < maxGroupRows {
			select {
			case req := <-in.reqs:
				group = append(group, req)
				n += len(req.rows)
			default:
				break gather
			}
		}
		in.commit(group)
	}
}

// commit writes the requests of group in one transaction and answers them.
func (in *inserter) commit(group []*insertReq) {
	live := group[:0:0]
	for _, req := range group {
		if err := req.ctx.Err(); err != nil {
			req.done <- err
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	err := in.tx(live)
	if err == nil || len(live) == 1 {
		for _, req := range live {
			req.done <- err
		}
		return
	}
	for _, req := range live {
		req.done <- in.tx([]*insertReq{req})
	}
}

func (in *inserter) tx(group []*insertReq) error {
	ctx := context.Background() // a request's ctx must not abort its group
	return in.d.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, insertRowSQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, req := range group {
			if err := insertTx(ctx, tx, stmt, req.rows); err != nil {
				return err
			}
		}
		return nil
	})
}
