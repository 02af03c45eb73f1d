//go:build !linux

package tracer

import (
	"fmt"
	"runtime"
)

// SocketFDs needs BPF iterators: Linux only.
func SocketFDs() ([]SocketFD, error) {
	return nil, fmt.Errorf("listing socket fds on %s: %w", runtime.GOOS, ErrNotSupported)
}

// EachSocketFD needs BPF iterators: Linux only.
func EachSocketFD(func(SocketFD)) error {
	return fmt.Errorf("listing socket fds on %s: %w", runtime.GOOS, ErrNotSupported)
}
