//go:build !linux

package snapshot

import (
	"fmt"
	"runtime"
)

// Interfaces is Linux-only.
func Interfaces(root string) (IfaceSnapshot, error) {
	return IfaceSnapshot{}, fmt.Errorf("reading interfaces on %s: %w", runtime.GOOS, ErrNotSupported)
}
