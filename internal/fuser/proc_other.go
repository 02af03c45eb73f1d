//go:build !linux

package fuser

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotSupported is returned for what only Linux's /proc can answer.
var ErrNotSupported = errors.New("not supported on this operating system")

// ScanErrors has nothing to report without /proc.
func ScanErrors(self int) []string { return nil }

// Stat resolves and stats a file name.
func Stat(name string) (string, FileID, error) {
	path := name
	if abs, err := filepath.Abs(name); err == nil && name != "" {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			path = real
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return path, FileID{}, err
	}
	id := FileID{Socket: fi.Mode()&os.ModeSocket != 0}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Dev, id.Ino = uint64(st.Dev), uint64(st.Ino)
	}
	return path, id, nil
}

// StatSocketPath stats a unix socket's bound path.
func StatSocketPath(path string) (FileID, bool) {
	_, id, err := Stat(path)
	return id, err == nil
}

// MountPoints needs /proc/mounts.
func MountPoints() []string { return nil }

// FileProcs needs /proc.
func FileProcs(self int) func(q FileQuery) ([]Proc, error) {
	return func(FileQuery) ([]Proc, error) {
		return nil, fmt.Errorf("listing file users: %w", ErrNotSupported)
	}
}

// Kill sends sig to pid.
func Kill(pid int32, sig int) error { return syscall.Kill(int(pid), syscall.Signal(sig)) }
