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
func (*Tracer) Close() error                        { return nil }
func (*Tracer) Strategies() []Hook                  { return nil }
func (*Tracer) Lost() uint64                        { return 0 }
