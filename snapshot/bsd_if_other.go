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

// BSDUDPStats is FreeBSD-only: it reads net.inet.udp.stats.
func BSDUDPStats() (BSDUDPStat, error) {
	return BSDUDPStat{}, fmt.Errorf("reading FreeBSD UDP statistics on %s: %w", runtime.GOOS, ErrNotSupported)
}
