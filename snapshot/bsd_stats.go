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

// BSDIPStat is FreeBSD's struct ipstat (netinet/ip_var.h), the
// net.inet.ip.stats sysctl: 29 uint64 counters in this order since
// FreeBSD 10 (13.x and 14.x included).
type BSDIPStat struct {
	Total, BadSum, TooShort, TooSmall, BadHLen, BadLen, Fragments, FragDropped, FragTimeout uint64
	Forward, FastForward, CantForward, RedirectSent, NoProto, Delivered, LocalOut           uint64
	ODropped, Reassembled, Fragmented, OFragments, CantFrag, BadOptions, NoRoute, BadVers   uint64
	RawOut, TooLong, NotMember, NoGif, BadAddr                                              uint64
}

const bsdSizeIPStat = 29 * 8

// DecodeBSDIPStat decodes net.inet.ip.stats.
func DecodeBSDIPStat(b []byte) (BSDIPStat, error) {
	if len(b) != bsdSizeIPStat {
		return BSDIPStat{}, fmt.Errorf("decoding net.inet.ip.stats: struct ipstat is %d bytes, want %d: %w", len(b), bsdSizeIPStat, ErrBSDLayout)
	}
	var s BSDIPStat
	for i, p := range []*uint64{&s.Total, &s.BadSum, &s.TooShort, &s.TooSmall, &s.BadHLen, &s.BadLen, &s.Fragments,
		&s.FragDropped, &s.FragTimeout, &s.Forward, &s.FastForward, &s.CantForward, &s.RedirectSent, &s.NoProto,
		&s.Delivered, &s.LocalOut, &s.ODropped, &s.Reassembled, &s.Fragmented, &s.OFragments, &s.CantFrag,
		&s.BadOptions, &s.NoRoute, &s.BadVers, &s.RawOut, &s.TooLong, &s.NotMember, &s.NoGif, &s.BadAddr} {
		*p = bsdNE.Uint64(b[8*i:])
	}
	return s, nil
}

// BSDICMPMaxType is ICMP_MAXTYPE: the histograms have one more entry.
const BSDICMPMaxType = 40

// BSDICMPStat is FreeBSD's struct icmpstat (netinet/icmp_var.h), the
// net.inet.icmp.stats sysctl, all uint64 counters.
type BSDICMPStat struct {
	Error, OldShort, OldICMP                   uint64
	OutHist                                    [BSDICMPMaxType + 1]uint64
	BadCode, TooShort, Checksum, BadLen        uint64
	Reflect                                    uint64
	InHist                                     [BSDICMPMaxType + 1]uint64
	BMcastEcho, BMcastTstamp, BadAddr, NoRoute uint64
}

const bsdSizeICMPStat = (3 + BSDICMPMaxType + 1 + 5 + BSDICMPMaxType + 1 + 4) * 8

// DecodeBSDICMPStat decodes net.inet.icmp.stats.
func DecodeBSDICMPStat(b []byte) (BSDICMPStat, error) {
	if len(b) != bsdSizeICMPStat {
		return BSDICMPStat{}, fmt.Errorf("decoding net.inet.icmp.stats: struct icmpstat is %d bytes, want %d: %w", len(b), bsdSizeICMPStat, ErrBSDLayout)
	}
	var s BSDICMPStat
	ps := []*uint64{&s.Error, &s.OldShort, &s.OldICMP}
	for i := range s.OutHist {
		ps = append(ps, &s.OutHist[i])
	}
	ps = append(ps, &s.BadCode, &s.TooShort, &s.Checksum, &s.BadLen, &s.Reflect)
	for i := range s.InHist {
		ps = append(ps, &s.InHist[i])
	}
	ps = append(ps, &s.BMcastEcho, &s.BMcastTstamp, &s.BadAddr, &s.NoRoute)
	for i, p := range ps {
		*p = bsdNE.Uint64(b[8*i:])
	}
	return s, nil
}
