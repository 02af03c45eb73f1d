//go:build !linux

package table

import "time"

var boot = time.Now()

// Monotonic is a process-relative monotonic clock where the kernel's is
// not at hand; no tracer runs on these systems anyway.
func Monotonic() uint64 { return uint64(time.Since(boot)) + 1 }
