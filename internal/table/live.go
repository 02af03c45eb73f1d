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
	// ReadBatch appends the events queued so far to dst, blocking until
	// there is one (tracer.Tracer.ReadBatch).
	ReadBatch(ctx context.Context, dst []tracer.Event) ([]tracer.Event, error)
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
	// Refresh, if set, reseeds the table from a fresh snapshot this often
	// even when nothing was reported lost (Stats.Refreshes): the kernel
	// can, rarely, not run a tracing program for an event and count no
	// miss (seen while other BPF programs were being loaded and attached),
	// and a refresh bounds how long such a drift lasts.
	Refresh time.Duration

	free chan []tracer.Event // batches applied, for the reader to reuse
}

// recycle hands an applied batch back to the reader.
func (l *Live) recycle(b []tracer.Event) {
	select {
	case l.free <- b[:0]:
	default:
	}
}

// Run seeds the table and applies events until ctx ends or the source
// fails. The Source must already be attached: events raised while the
// snapshot runs are buffered and applied after it (list-then-watch).
func (l *Live) Run(ctx context.Context) error {
	if l.Now == nil {
		l.Now = Monotonic
	}
	// Events come in the tracer's batches (up to a few hundred), handed
	// over whole and recycled. A short queue: while the snapshot runs,
	// events wait in the kernel's ring buffer (which holds ~100k) rather
	// than in 200-byte Events here.
	evs := make(chan []tracer.Event, 16)
	l.free = make(chan []tracer.Event, 16)
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(evs)
		for {
			var b []tracer.Event
			select {
			case b = <-l.free:
			default:
			}
			b, err := l.Source.ReadBatch(ctx, b[:0])
			if len(b) > 0 {
				select {
				case evs <- b:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
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
	var refresh <-chan time.Time
	if l.Refresh > 0 {
		r := time.NewTicker(l.Refresh)
		defer r.Stop()
		refresh = r.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-evs:
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
			l.Table.ApplyAll(b)
			l.recycle(b)
		case <-tick.C:
			if n := l.Source.Lost(); n != lost {
				lost = n
				if l.reseed(ctx, evs) {
					l.Table.CountResync(n)
				}
			}
		case <-refresh:
			if l.reseed(ctx, evs) {
				l.Table.CountRefresh()
			}
		case <-prune.C:
			if l.Alive != nil {
				l.Table.ForgetPIDs(l.Alive)
			}
		}
	}
}

// reseed resyncs after the first seed, reporting a failure to Errs (the
// table keeps going on events); false if it failed.
func (l *Live) reseed(ctx context.Context, evs <-chan []tracer.Event) bool {
	if err := l.resync(ctx, evs); err != nil {
		if l.Errs != nil {
			l.Errs(err)
		}
		return false
	}
	return true
}

// resync snapshots every namespace while buffering events, seeds the
// table, then applies the buffer.
func (l *Live) resync(ctx context.Context, evs <-chan []tracer.Event) error {
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
		case b, ok := <-evs:
			if ok {
				buf = append(buf, b...)
				l.recycle(b)
			}
		case r := <-done:
			// Drain what is already queued so it lands after the seed.
			for more := true; more; {
				select {
				case b, ok := <-evs:
					if !ok {
						more = false
					} else {
						buf = append(buf, b...)
						l.recycle(b)
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
