//go:build !linux

package snapshot

// Fast is Sockets where no faster source exists.
func Fast(opts Options) (Result, error) { return Sockets(opts) }
