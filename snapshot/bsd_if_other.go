//go:build !freebsd

package snapshot

import (
	"fmt"
	"runtime"
)

// BSDInterfaces is FreeBSD-only: it reads the NET_RT_IFLISTL sysctl.
func BSDInterfaces() ([]BSDIfAddr, error) {
	return nil, fmt.Errorf("reading FreeBSD interfaces on %s: %w", runtime.GOOS, ErrNotSupported)
}
