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

// BSDTCPStat is FreeBSD's struct tcpstat (netinet/tcp_var.h), the
// net.inet.tcp.stats sysctl: an array of uint64 counters. The fields are
// in the order of the 14.x header; DecodeBSDTCPStat places a 13.x
// struct's counters by name, and counters a release lacks stay 0.
type BSDTCPStat struct {
	ConnAttempt, Accepts, Connects, Drops, ConnDrops, MinMSSDrops, Closed, SegsTimed, RTTUpdated uint64
	DelAck, TimeoutDrop, RexmtTimeo, PersistTimeo, KeepTimeo, KeepProbe, KeepDrops, ProgDrops    uint64

	SndTotal, SndPack, SndByte, SndRexmitPack, SndRexmitByte, SndRexmitBad, SndAcks, SndProbe, SndUrg uint64
	SndWinUp, SndCtrl                                                                                 uint64

	RcvTotal, RcvPack, RcvByte, RcvBadSum, RcvBadOff, RcvReassFull, RcvShort, RcvDupPack, RcvDupByte uint64
	RcvPartDupPack, RcvPartDupByte, RcvOOPack, RcvOOByte, RcvPackAfterWin, RcvByteAfterWin           uint64
	RcvAfterClose, RcvWinProbe, RcvDupAck, RcvAckTooMuch, RcvAckPack, RcvAckByte, RcvWinUpd          uint64
	PAWSDrop, PredAck, PredDat, PCBCacheMiss, CachedRTT, CachedRTTVar, CachedSSThresh, UsedRTT       uint64
	UsedRTTVar, UsedSSThresh, PersistDrop, BadSyn, MTUResent, ListenDrop, BadRST                     uint64
	SCAdded, SCRetransmitted, SCDupSyn, SCDropped, SCCompleted, SCBucketOverflow, SCCacheOverflow    uint64
	SCReset, SCStale, SCAborted, SCBadAck, SCUnreach, SCZoneFail, SCSendCookie, SCRecvCookie         uint64
	HCAdded, HCBucketOverflow, FinWait2Drops                                                         uint64
	SACKRecoveryEpisode, SACKRexmits, SACKRexmitBytes, SACKRcvBlocks, SACKSendBlocks, SACKLostRexmt  uint64
	SACKSBOverflow                                                                                   uint64
	ECNRcvCE, ECNRcvECT0, ECNRcvECT1, ECNShs, ECNRcwnd                                               uint64
	SigRcvGoodSig, SigRcvBadSig, SigErrBuildSig, SigErrSigOpt, SigErrNoSigOpt                        uint64
	PMTUDBlackholeActivated, PMTUDBlackholeActivatedMinMSS, PMTUDBlackholeFailed                     uint64
	TunneledPkts, TunneledErrs, DSACKCount, DSACKBytes, DSACKTLPBytes, TWRecycles, TWResets          uint64
	TWResponds, ACENect, ACEECT1, ACEECT0, ACECE, ECNSndECT0, ECNSndECT1, TLPResends, TLPResendBytes uint64
	RcvGhostAck, RcvAckTooOld                                                                        uint64
}

// counters lists the fields in FreeBSD 14's order (121 counters; the
// struct ends with _pad[2]).
func (s *BSDTCPStat) counters() []*uint64 {
	return []*uint64{
		&s.ConnAttempt, &s.Accepts, &s.Connects, &s.Drops, &s.ConnDrops, &s.MinMSSDrops, &s.Closed, &s.SegsTimed,
		&s.RTTUpdated, &s.DelAck, &s.TimeoutDrop, &s.RexmtTimeo, &s.PersistTimeo, &s.KeepTimeo, &s.KeepProbe,
		&s.KeepDrops, &s.ProgDrops,
		&s.SndTotal, &s.SndPack, &s.SndByte, &s.SndRexmitPack, &s.SndRexmitByte, &s.SndRexmitBad, &s.SndAcks,
		&s.SndProbe, &s.SndUrg, &s.SndWinUp, &s.SndCtrl,
		&s.RcvTotal, &s.RcvPack, &s.RcvByte, &s.RcvBadSum, &s.RcvBadOff, &s.RcvReassFull, &s.RcvShort, &s.RcvDupPack,
		&s.RcvDupByte, &s.RcvPartDupPack, &s.RcvPartDupByte, &s.RcvOOPack, &s.RcvOOByte, &s.RcvPackAfterWin,
		&s.RcvByteAfterWin, &s.RcvAfterClose, &s.RcvWinProbe, &s.RcvDupAck, &s.RcvAckTooMuch, &s.RcvAckPack,
		&s.RcvAckByte, &s.RcvWinUpd, &s.PAWSDrop, &s.PredAck, &s.PredDat, &s.PCBCacheMiss, &s.CachedRTT,
		&s.CachedRTTVar, &s.CachedSSThresh, &s.UsedRTT, &s.UsedRTTVar, &s.UsedSSThresh, &s.PersistDrop, &s.BadSyn,
		&s.MTUResent, &s.ListenDrop, &s.BadRST,
		&s.SCAdded, &s.SCRetransmitted, &s.SCDupSyn, &s.SCDropped, &s.SCCompleted, &s.SCBucketOverflow,
		&s.SCCacheOverflow, &s.SCReset, &s.SCStale, &s.SCAborted, &s.SCBadAck, &s.SCUnreach, &s.SCZoneFail,
		&s.SCSendCookie, &s.SCRecvCookie,
		&s.HCAdded, &s.HCBucketOverflow, &s.FinWait2Drops,
		&s.SACKRecoveryEpisode, &s.SACKRexmits, &s.SACKRexmitBytes, &s.SACKRcvBlocks, &s.SACKSendBlocks,
		&s.SACKLostRexmt, &s.SACKSBOverflow,
		&s.ECNRcvCE, &s.ECNRcvECT0, &s.ECNRcvECT1, &s.ECNShs, &s.ECNRcwnd,
		&s.SigRcvGoodSig, &s.SigRcvBadSig, &s.SigErrBuildSig, &s.SigErrSigOpt, &s.SigErrNoSigOpt,
		&s.PMTUDBlackholeActivated, &s.PMTUDBlackholeActivatedMinMSS, &s.PMTUDBlackholeFailed,
		&s.TunneledPkts, &s.TunneledErrs, &s.DSACKCount, &s.DSACKBytes, &s.DSACKTLPBytes,
		&s.TWRecycles, &s.TWResets, &s.TWResponds, &s.ACENect, &s.ACEECT1, &s.ACEECT0, &s.ACECE,
		&s.ECNSndECT0, &s.ECNSndECT1, &s.TLPResends, &s.TLPResendBytes, &s.RcvGhostAck, &s.RcvAckTooOld,
	}
}

// Sizes of struct tcpstat. Stable branches keep the size fixed: new
// counters take _pad slots, so one size per release line.
//
//   - 13.x (releng/13.0 .. 13.5): 104 counters up to tcps_tunneled_errs,
//     then _pad[10] ("6 UTO, 6 TBD"): 114 uint64, 912 bytes. The SACK
//     block has no tcps_sack_lostrexmt and the ECN counters are named
//     tcps_ecn_ce/ect0/ect1; 13.x netstat prints nothing past the
//     path MTU counters, so the pad slots are not decoded.
//   - 14.x: 121 counters through tcps_rcvacktooold, then _pad[2] ("2 TBD
//     placeholder for STABLE"): 123 uint64, 984 bytes. tcps_sack_lostrexmt
//     sits between tcps_sack_send_blocks and tcps_sack_sboverflow.
//
// FreeBSD's netstat asks sysctlbyname for exactly sizeof(struct tcpstat)
// and the kernel answers ENOMEM when its struct is longer, so netstat
// refuses a longer struct rather than reading a prefix; so do we.
//
// The size alone cannot tell 14.x from what followed: main (15-CURRENT)
// trees insert tcps_sack_rexmits_tso after tcps_sack_rexmits and shrink
// _pad to _pad[1], keeping 984 bytes but shifting every later counter.
// So the release (kern.osreldate, __FreeBSD_version) must agree with the
// size, and releases other than 13 and 14 are refused.
const (
	bsdSizeTCPStat13 = 114 * 8
	bsdSizeTCPStat14 = 123 * 8
)

// bsdTCPStat13 maps each 13.x counter position to the index of the same
// counter in counters() (14.x order).
func bsdTCPStat13(i int) int {
	switch {
	case i < 88: // through tcps_sack_send_blocks
		return i
	case i == 88: // tcps_sack_sboverflow (14.x inserts lostrexmt before it)
		return 89
	default: // ECN, signature, PMTUD, tunneled: one slot later in 14.x
		return i + 1
	}
}

// DecodeBSDTCPStat decodes net.inet.tcp.stats from FreeBSD 13.x or 14.x.
// osreldate is kern.osreldate (0: unknown, then the size decides); a
// size other than the release's, or a release other than 13 or 14, is
// refused with an error naming struct tcpstat.
func DecodeBSDTCPStat(b []byte, osreldate uint32) (BSDTCPStat, error) {
	var s BSDTCPStat
	ps := s.counters()
	want := map[uint32]int{13: bsdSizeTCPStat13, 14: bsdSizeTCPStat14}
	if major := osreldate / 100000; osreldate != 0 && want[major] != len(b) {
		if want[major] == 0 {
			return BSDTCPStat{}, fmt.Errorf("decoding net.inet.tcp.stats: struct tcpstat of FreeBSD %d (osreldate %d, %d bytes) has no known layout: %w",
				major, osreldate, len(b), ErrBSDLayout)
		}
		return BSDTCPStat{}, fmt.Errorf("decoding net.inet.tcp.stats: struct tcpstat of FreeBSD %d is %d bytes, want %d: %w",
			major, len(b), want[major], ErrBSDLayout)
	}
	switch len(b) {
	case bsdSizeTCPStat14:
		for i, p := range ps {
			*p = bsdNE.Uint64(b[8*i:])
		}
	case bsdSizeTCPStat13:
		for i := 0; i < 104; i++ {
			*ps[bsdTCPStat13(i)] = bsdNE.Uint64(b[8*i:])
		}
	default:
		return BSDTCPStat{}, fmt.Errorf("decoding net.inet.tcp.stats: struct tcpstat is %d bytes, want %d (FreeBSD 13.x) or %d (14.x): %w",
			len(b), bsdSizeTCPStat13, bsdSizeTCPStat14, ErrBSDLayout)
	}
	return s, nil
}

// DecodeBSDTCPStates decodes net.inet.tcp.states: one uint64 connection
// count per state (TCP_NSTATES, BSDTCPNStates), in tcpstates[] order.
func DecodeBSDTCPStates(b []byte) ([BSDTCPNStates]uint64, error) {
	var st [BSDTCPNStates]uint64
	if len(b) != len(st)*8 {
		return st, fmt.Errorf("decoding net.inet.tcp.states: %d bytes, want %d (uint64_t[TCP_NSTATES]): %w", len(b), len(st)*8, ErrBSDLayout)
	}
	for i := range st {
		st[i] = bsdNE.Uint64(b[8*i:])
	}
	return st, nil
}
