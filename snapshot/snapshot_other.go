//go:build !linux && !freebsd

package snapshot

import (
	"fmt"
	"runtime"
)

// Sockets is not available on this operating system.
func Sockets(opts Options) (Result, error) {
	return Result{}, fmt.Errorf("taking a socket snapshot on %s: %w", runtime.GOOS, ErrNotSupported)
}
