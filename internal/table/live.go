package table

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/tracer"
)

// Source is the tracer as the live table uses it.
type Source interface {
	Read(ctx context.Context) (tracer.Event, error)
	// Lost is the kernel's count of events dropped so far.
	Lost() uint64
}

// Snapshot takes a fresh snapshot of every namespace to seed, with owners
// and cookies, keyed by namespace inode.
type Snapshot func(ctx context.Context) (map[uint64][]sock.Socket, error)

// Live keeps a Table current from a Source.
type Live struct {
	Table    *Table
	Source   Source
	Snapshot Snapshot
	// Now reads CLOCK_MONOTONIC in ns (the events' clock); nil: Monotonic.
	Now func() uint64
	// Alive reports whether a process exists, for periodic owner pruning;
	// nil disables pruning.
	Alive func(pid int32) bool
	// Ready is closed once the first seed is in.
	Ready chan struct{}
	// Errs receives non-fatal errors (a failed resync); may be nil.
	Errs func(error)
}

// Run seeds the table and applies events until ctx ends or the source
// fails. The Source must already be attached: events raised while the
// snapshot runs are buffered and applied after it (list-then-watch).
func (l *Live) Run(ctx context.Context) error {
	if l.Now == nil {
		l.Now = Monotonic
	}
	// A short queue: while the snapshot runs, events wait in the kernel's
	// ring buffer (which holds ~100k) rather than in 200-byte Events here.
	evs := make(chan tracer.Event, 1<<12)
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(evs)
		for {
			ev, err := l.Source.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case evs <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()

	lost := l.Source.Lost()
	if err := l.resync(ctx, evs); err != nil {
		return err
	}
	if l.Ready != nil {
		close(l.Ready)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	prune := time.NewTicker(2 * time.Second)
	defer prune.Stop()
	batch := make([]tracer.Event, 0, 256)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-evs:
			if !ok {
				select {
				case err := <-readErr:
					if errors.Is(err, context.Canceled) || errors.Is(err, tracer.ErrClosed) {
						return nil
					}
					return fmt.Errorf("reading tracer events: %w", err)
				default:
					return nil
				}
			}
			batch = append(batch[:0], ev)
		drain:
			for len(batch) < cap(batch) {
				select {
				case ev, ok := <-evs:
					if !ok {
						break drain
					}
					batch = append(batch, ev)
				default:
					break drain
				}
			}
			l.Table.ApplyAll(batch)
		case <-tick.C:
			if n := l.Source.Lost(); n != lost {
				lost = n
				if err := l.resync(ctx, evs); err != nil {
					if l.Errs != nil {
						l.Errs(err)
					}
					continue
				}
				l.Table.CountResync(n)
			}
		case <-prune.C:
			if l.Alive != nil {
				l.Table.ForgetPIDs(l.Alive)
			}
		}
	}
}

// resync snapshots every namespace while buffering events, seeds the
// table, then applies the buffer.
func (l *Live) resync(ctx context.Context, evs <-chan tracer.Event) error {
	start := l.Now()
	type result struct {
		m   map[uint64][]sock.Socket
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := l.Snapshot(ctx)
		done <- result{m, err}
	}()
	var buf []tracer.Event
	for {
		select {
		case ev, ok := <-evs:
			if ok {
				buf = append(buf, ev)
			}
		case r := <-done:
			// Drain what is already queued so it lands after the seed.
			for more := true; more; {
				select {
				case ev, ok := <-evs:
					if !ok {
						more = false
					} else {
						buf = append(buf, ev)
					}
				default:
					more = false
				}
			}
			if r.err != nil {
				l.Table.ApplyAll(buf)
				return fmt.Errorf("taking snapshot to seed the table: %w", r.err)
			}
			for netns, socks := range r.m {
				l.Table.Seed(netns, start, socks)
			}
			l.Table.ApplyAll(buf)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
