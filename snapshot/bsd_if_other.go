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

// BSDIPStats is FreeBSD-only: it reads net.inet.ip.stats.
func BSDIPStats() (BSDIPStat, error) {
	return BSDIPStat{}, fmt.Errorf("reading FreeBSD IP statistics on %s: %w", runtime.GOOS, ErrNotSupported)
}

// BSDICMPStats is FreeBSD-only: it reads net.inet.icmp.stats and
// net.inet.icmp.maskrepl.
func BSDICMPStats() (BSDICMPStat, bool, error) {
	return BSDICMPStat{}, false, fmt.Errorf("reading FreeBSD ICMP statistics on %s: %w", runtime.GOOS, ErrNotSupported)
}

// BSDTCPStats is FreeBSD-only: it reads net.inet.tcp.stats and
// net.inet.tcp.states.
func BSDTCPStats() (BSDTCPStat, [BSDTCPNStates]uint64, error) {
	return BSDTCPStat{}, [BSDTCPNStates]uint64{}, fmt.Errorf("reading FreeBSD TCP statistics on %s: %w", runtime.GOOS, ErrNotSupported)
}
