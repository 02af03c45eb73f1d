package snapshot

import "fmt"

// BSDUDPStat is FreeBSD's struct udpstat (netinet/udp_var.h), the
// net.inet.udp.stats sysctl: fourteen uint64 counters since FreeBSD 11,
// unchanged in 13.x and 14.x.
type BSDUDPStat struct {
	IPackets, HdrOps, BadSum, NoSum, BadLen, NoPort, NoPortBcast, FullSock uint64
	PCBCacheMiss, PCBHashMiss, OPackets, FastOut, NoPortMcast, FilterMcast uint64
}

const bsdSizeUDPStat = 14 * 8

// DecodeBSDUDPStat decodes net.inet.udp.stats.
func DecodeBSDUDPStat(b []byte) (BSDUDPStat, error) {
	if len(b) != bsdSizeUDPStat {
		return BSDUDPStat{}, fmt.Errorf("decoding net.inet.udp.stats: struct udpstat is %d bytes, want %d: %w", len(b), bsdSizeUDPStat, ErrBSDLayout)
	}
	var v [14]uint64
	for i := range v {
		v[i] = bsdNE.Uint64(b[8*i:])
	}
	return BSDUDPStat{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]}, nil
}
