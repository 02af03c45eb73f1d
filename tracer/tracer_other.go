//go:build !linux

package tracer

import (
	"context"
	"fmt"
	"runtime"
)

// Tracer is unavailable on this platform.
type Tracer struct{}

// New always fails outside Linux.
func New(Options) (*Tracer, error) {
	return nil, fmt.Errorf("starting tracer on %s: %w", runtime.GOOS, ErrNotSupported)
}

func (*Tracer) Read(context.Context) (Event, error) { return Event{}, ErrNotSupported }
func (*Tracer) ReadBatch(_ context.Context, dst []Event) ([]Event, error) {
	return dst, ErrNotSupported
}
func (*Tracer) ReadQueued(dst []Event) ([]Event, error) { return dst, ErrNotSupported }
func (*Tracer) Close() error                            { return nil }
func (*Tracer) Strategies() []Hook                      { return nil }
func (*Tracer) Lost() uint64                            { return 0 }

// Counters returns zeros: there is no tracer here.
func (*Tracer) Counters() Counters { return Counters{} }

// MonotonicNow is unavailable outside Linux; it returns 0.
func MonotonicNow() uint64 { return 0 }

// Probe reports that no strategy works outside Linux.
func Probe(name string) Hook {
	return Hook{Name: "tcp state", Strategy: name, Err: fmt.Errorf("probing %s: %w", name, ErrNotSupported)}
}

// StrategyNames lists the TCP state hook strategies (none here).
func StrategyNames() []string { return nil }

// procHolds: no /proc to ask here.
func procHolds(int32, int32, uint64) (int32, bool) { return -1, false }
