//go:build !linux

package daemon

import (
	"context"
	"fmt"
	"runtime"

	"github.com/bpfstat/bpfstat/snapshot"
)

// Config configures Run.
type Config struct {
	Socket, Group string
	NoTracer      bool
	Logf          func(format string, args ...any)
	Listening     func()
}

// Run is Linux-only: the daemon needs the eBPF tracer.
func Run(ctx context.Context, cfg Config) error {
	return fmt.Errorf("running the daemon on %s: %w", runtime.GOOS, snapshot.ErrNotSupported)
}
