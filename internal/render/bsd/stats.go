package bsd

import (
	"bufio"
	"fmt"
	"io"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// UDPStat are struct udpstat's counters netstat -s prints.
type UDPStat struct {
	IPackets, HdrOps, BadSum, NoSum, BadLen, NoPort, NoPortBcast, FullSock uint64
	PCBHashMiss, OPackets, FilterMcast                                     uint64
}

func plural(n uint64) string {
	if n != 1 {
		return "s"
	}
	return ""
}

// UDPStats prints inet.c's udp_stats(): every counter with -s (sflag 1),
// only non-zero ones with -ss (sflag 2).
func UDPStats(out io.Writer, s UDPStat, sflag int) error {
	w := bufio.NewWriter(out)
	p := func(v uint64, format string) { // p(): value and plural
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, "\t"+format+"\n", v, plural(v))
		}
	}
	p1a := func(v uint64, format string) {
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, "\t"+format+"\n", v)
		}
	}
	w.WriteString("udp:\n")
	p(s.IPackets, "%d datagram%s received")
	p1a(s.HdrOps, "%d with incomplete header")
	p1a(s.BadLen, "%d with bad data length field")
	p1a(s.BadSum, "%d with bad checksum")
	p1a(s.NoSum, "%d with no checksum")
	p1a(s.NoPort, "%d dropped due to no socket")
	p(s.NoPortBcast, "%d broadcast/multicast datagram%s undelivered")
	p1a(s.FullSock, "%d dropped due to full socket buffers")
	p1a(s.PCBHashMiss, "%d not for hashed pcb")
	delivered := s.IPackets - s.HdrOps - s.BadLen - s.BadSum - s.NoPort - s.NoPortBcast - s.FullSock
	if delivered != 0 || sflag <= 1 {
		fmt.Fprintf(w, "\t%d delivered\n", delivered)
	}
	p(s.OPackets, "%d datagram%s output")
	p(s.FilterMcast, "%d time%s multicast source filter matched")
	return w.Flush()
}

// IPStat are struct ipstat's counters: the decoder's type.
type IPStat = snapshot.BSDIPStat

// IPStats prints inet.c's ip_stats().
func IPStats(out io.Writer, s IPStat, sflag int) error {
	w := bufio.NewWriter(out)
	p := func(v uint64, format string) {
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, format, v, plural(v))
		}
	}
	p1a := func(v uint64, format string) {
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, format, v)
		}
	}
	w.WriteString("ip:\n")
	p(s.Total, "\t%d total packet%s received\n")
	p(s.BadSum, "\t%d bad header checksum%s\n")
	p1a(s.TooSmall, "\t%d with size smaller than minimum\n")
	p1a(s.TooShort, "\t%d with data size < data length\n")
	p1a(s.TooLong, "\t%d with ip length > max ip packet size\n")
	p1a(s.BadHLen, "\t%d with header length < data size\n")
	p1a(s.BadLen, "\t%d with data length < header length\n")
	p1a(s.BadOptions, "\t%d with bad options\n")
	p1a(s.BadVers, "\t%d with incorrect version number\n")
	p(s.Fragments, "\t%d fragment%s received\n")
	p(s.FragDropped, "\t%d fragment%s dropped (dup or out of space)\n")
	p(s.FragTimeout, "\t%d fragment%s dropped after timeout\n")
	p(s.Reassembled, "\t%d packet%s reassembled ok\n")
	p(s.Delivered, "\t%d packet%s for this host\n")
	p(s.NoProto, "\t%d packet%s for unknown/unsupported protocol\n")
	p(s.Forward, "\t%d packet%s forwarded")
	p(s.FastForward, " (%d packet%s fast forwarded)")
	if s.Forward != 0 || sflag <= 1 {
		w.WriteString("\n")
	}
	p(s.CantForward, "\t%d packet%s not forwardable\n")
	p(s.NotMember, "\t%d packet%s received for unknown multicast group\n")
	p(s.RedirectSent, "\t%d redirect%s sent\n")
	p(s.LocalOut, "\t%d packet%s sent from this host\n")
	p(s.RawOut, "\t%d packet%s sent with fabricated ip header\n")
	p(s.ODropped, "\t%d output packet%s dropped due to no bufs, etc.\n")
	p(s.NoRoute, "\t%d output packet%s discarded due to no route\n")
	p(s.Fragmented, "\t%d output datagram%s fragmented\n")
	p(s.OFragments, "\t%d fragment%s created\n")
	p(s.CantFrag, "\t%d datagram%s that can't be fragmented\n")
	p(s.NoGif, "\t%d tunneling packet%s that can't find gif\n")
	p(s.BadAddr, "\t%d datagram%s with bad address in header\n")
	return w.Flush()
}

// ICMPMaxType is ICMP_MAXTYPE.
const ICMPMaxType = 40

// ICMPStat are struct icmpstat's counters.
type ICMPStat struct {
	Error, OldICMP                               uint64
	OutHist                                      [ICMPMaxType + 1]uint64
	BadCode, TooShort, Checksum, BadLen, Reflect uint64
	InHist                                       [ICMPMaxType + 1]uint64
	BMcastEcho, BMcastTstamp, BadAddr, NoRoute   uint64
	// MaskRepl is net.inet.icmp.maskrepl; MaskKnown says it was read
	// (netstat prints the line only for the live kernel).
	MaskRepl, MaskKnown bool
}

var icmpNames = [ICMPMaxType + 1]string{
	"echo reply", "#1", "#2", "destination unreachable", "source quench", "routing redirect", "#6", "#7",
	"echo", "router advertisement", "router solicitation", "time exceeded", "parameter problem",
	"time stamp", "time stamp reply", "information request", "information request reply",
	"address mask request", "address mask reply", "#19", "#20", "#21", "#22", "#23", "#24", "#25",
	"#26", "#27", "#28", "#29", "icmp traceroute", "datagram conversion error", "mobile host redirect",
	"IPv6 where-are-you", "IPv6 i-am-here", "mobile registration req", "mobile registration reply",
	"domain name request", "domain name reply", "icmp SKIP", "icmp photuris",
}

// ICMPStats prints inet.c's icmp_stats().
func ICMPStats(out io.Writer, s ICMPStat, sflag int) error {
	w := bufio.NewWriter(out)
	p := func(v uint64, format string) {
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, format, v, plural(v))
		}
	}
	hist := func(title string, h *[ICMPMaxType + 1]uint64) {
		first := true
		for i, v := range h {
			if v == 0 {
				continue
			}
			if first {
				fmt.Fprintf(w, "\t%s histogram:\n", title)
				first = false
			}
			fmt.Fprintf(w, "\t\t%s: %d\n", icmpNames[i], v)
		}
	}
	w.WriteString("icmp:\n")
	p(s.Error, "\t%d call%s to icmp_error\n")
	p(s.OldICMP, "\t%d error%s not generated in response to an icmp message\n")
	hist("Output", &s.OutHist)
	p(s.BadCode, "\t%d message%s with bad code fields\n")
	p(s.TooShort, "\t%d message%s less than the minimum length\n")
	p(s.Checksum, "\t%d message%s with bad checksum\n")
	p(s.BadLen, "\t%d message%s with bad length\n")
	if s.BMcastEcho != 0 || sflag <= 1 {
		fmt.Fprintf(w, "\t%d multicast echo requests ignored\n", s.BMcastEcho)
	}
	if s.BMcastTstamp != 0 || sflag <= 1 {
		fmt.Fprintf(w, "\t%d multicast timestamp requests ignored\n", s.BMcastTstamp)
	}
	hist("Input", &s.InHist)
	p(s.Reflect, "\t%d message response%s generated\n")
	if s.BadAddr != 0 || sflag <= 1 {
		es := "es"
		if s.BadAddr == 1 {
			es = ""
		}
		fmt.Fprintf(w, "\t%d invalid return address%s\n", s.BadAddr, es)
	}
	p(s.NoRoute, "\t%d no return route%s\n")
	if s.MaskKnown {
		abled := "dis"
		if s.MaskRepl {
			abled = "en"
		}
		fmt.Fprintf(w, "\tICMP address mask responses are %sabled\n", abled)
	}
	return w.Flush()
}

// TCPStat are struct tcpstat's counters, in FreeBSD 14's header order:
// the decoder's type, so the two cannot drift apart.
type TCPStat = snapshot.BSDTCPStat

// TCPNStates is TCP_NSTATES; TCPStats' states are in tcpstates[] order.
const TCPNStates = len(tcpStates)

// TCPStateIndex is the tcpstates[] index of a socket's TCP state (Linux
// states mapped as in the socket table: NEW_SYN_RECV counts as SYN_RCVD).
func TCPStateIndex(st sock.State) (int, bool) {
	i, ok := linuxToBSD[st]
	return int(i), ok
}

func pluralies(n uint64) string {
	if n != 1 {
		return "ies"
	}
	return "y"
}

// TCPStats prints inet.c's tcp_stats(): with -s (sflag 1) every line,
// with -ss only lines whose counters are not all zero. The p/p1a/p2/p2a/p3
// helpers are netstat's macros of the same names; the libxo field names
// and "{N:...}" wrappers only tag the text, which is printed as is.
//
// The lines are those of FreeBSD 14's tcp_stats() (the version whose
// counters match the 14.x struct tcpstat: tunneled and DSACK counters,
// SACK lost retransmissions, the received/sent ECN split and AccECN (ACE)
// SYN counters, TIME-WAIT counters, "full reassembly queue" for
// tcps_rcvreassfull, progress-time drops). netstat prints no line for
// tcps_minmssdrops, tcps_pcbcachemiss, the TLP or the SEG.ACK validation
// counters, so neither do we. A 13.x kernel's struct lacks the newer
// counters: they print as 0, as 14's netstat would show them.
//
// The state table ends the output, a line per state ("-ss": non-zero
// ones only). Its noun is libxo's {Np:/connection ,connections} plural
// field: the singular keeps the blank before the comma, so a count of 1
// reads "1 connection  in LISTEN state", with two blanks.
func TCPStats(out io.Writer, s TCPStat, states [TCPNStates]uint64, sflag int) error {
	w := bufio.NewWriter(out)
	show := func(vs ...uint64) bool {
		if sflag <= 1 {
			return true
		}
		for _, v := range vs {
			if v != 0 {
				return true
			}
		}
		return false
	}
	p := func(v uint64, format string) {
		if show(v) {
			fmt.Fprintf(w, format, v, plural(v))
		}
	}
	p1a := func(v uint64, format string) {
		if show(v) {
			fmt.Fprintf(w, format, v)
		}
	}
	p2 := func(v1, v2 uint64, format string) {
		if show(v1, v2) {
			fmt.Fprintf(w, format, v1, plural(v1), v2, plural(v2))
		}
	}
	p2a := func(v1, v2 uint64, format string) {
		if show(v1, v2) {
			fmt.Fprintf(w, format, v1, plural(v1), v2)
		}
	}
	p3 := func(v uint64, format string) {
		if show(v) {
			fmt.Fprintf(w, format, v, pluralies(v))
		}
	}

	w.WriteString("tcp:\n")
	p(s.SndTotal, "\t%d packet%s sent\n")
	p2(s.SndPack, s.SndByte, "\t\t%d data packet%s (%d byte%s)\n")
	p2(s.SndRexmitPack, s.SndRexmitByte, "\t\t%d data packet%s (%d byte%s) retransmitted\n")
	p(s.SndRexmitBad, "\t\t%d data packet%s unnecessarily retransmitted\n")
	p(s.MTUResent, "\t\t%d resend%s initiated by MTU discovery\n")
	p2a(s.SndAcks, s.DelAck, "\t\t%d ack-only packet%s (%d delayed)\n")
	p(s.SndUrg, "\t\t%d URG only packet%s\n")
	p(s.SndProbe, "\t\t%d window probe packet%s\n")
	p(s.SndWinUp, "\t\t%d window update packet%s\n")
	p(s.SndCtrl, "\t\t%d control packet%s\n")
	p(s.RcvTotal, "\t%d packet%s received\n")
	p2(s.RcvAckPack, s.RcvAckByte, "\t\t%d ack%s (for %d byte%s)\n")
	p(s.RcvDupAck, "\t\t%d duplicate ack%s\n")
	p(s.TunneledPkts, "\t\t%d UDP tunneled pkt%s\n")
	p(s.TunneledErrs, "\t\t%d UDP tunneled pkt cnt with error%s\n")
	p(s.RcvAckTooMuch, "\t\t%d ack%s for unsent data\n")
	p2(s.RcvPack, s.RcvByte, "\t\t%d packet%s (%d byte%s) received in-sequence\n")
	p2(s.RcvDupPack, s.RcvDupByte, "\t\t%d completely duplicate packet%s (%d byte%s)\n")
	p(s.PAWSDrop, "\t\t%d old duplicate packet%s\n")
	p2(s.RcvPartDupPack, s.RcvPartDupByte, "\t\t%d packet%s with some dup. data (%d byte%s duped)\n")
	p2(s.RcvOOPack, s.RcvOOByte, "\t\t%d out-of-order packet%s (%d byte%s)\n")
	p2(s.RcvPackAfterWin, s.RcvByteAfterWin, "\t\t%d packet%s (%d byte%s) of data after window\n")
	p(s.RcvWinProbe, "\t\t%d window probe%s\n")
	p(s.RcvWinUpd, "\t\t%d window update packet%s\n")
	p(s.DSACKCount, "\t\t%d packet%s received with dsack\n")
	p(s.DSACKBytes, "\t\t%d dsack byte%s received (no TLP involved)\n")
	p(s.DSACKTLPBytes, "\t\t%d dsack byte%s received (TLP responsible)\n")
	p(s.RcvAfterClose, "\t\t%d packet%s received after close\n")
	p(s.RcvBadSum, "\t\t%d discarded for bad checksum%s\n")
	p(s.RcvBadOff, "\t\t%d discarded for bad header offset field%s\n")
	p1a(s.RcvShort, "\t\t%d discarded because packet too short\n")
	p1a(s.RcvReassFull, "\t\t%d discarded due to full reassembly queue\n")
	p(s.ConnAttempt, "\t%d connection request%s\n")
	p(s.Accepts, "\t%d connection accept%s\n")
	p(s.BadSyn, "\t%d bad connection attempt%s\n")
	p(s.ListenDrop, "\t%d listen queue overflow%s\n")
	p(s.BadRST, "\t%d ignored RSTs in the window%s\n")
	p(s.Connects, "\t%d connection%s established (including accepts)\n")
	p(s.UsedRTT, "\t\t%d time%s used RTT from hostcache\n")
	p(s.UsedRTTVar, "\t\t%d time%s used RTT variance from hostcache\n")
	p(s.UsedSSThresh, "\t\t%d time%s used slow-start threshold from hostcache\n")
	p2(s.Closed, s.Drops, "\t%d connection%s closed (including %d drop%s)\n")
	p(s.CachedRTT, "\t\t%d connection%s updated cached RTT on close\n")
	p(s.CachedRTTVar, "\t\t%d connection%s updated cached RTT variance on close\n")
	p(s.CachedSSThresh, "\t\t%d connection%s updated cached ssthresh on close\n")
	p(s.ConnDrops, "\t%d embryonic connection%s dropped\n")
	p2(s.RTTUpdated, s.SegsTimed, "\t%d segment%s updated rtt (of %d attempt%s)\n")
	p(s.RexmtTimeo, "\t%d retransmit timeout%s\n")
	p(s.TimeoutDrop, "\t\t%d connection%s dropped by rexmit timeout\n")
	p(s.PersistTimeo, "\t%d persist timeout%s\n")
	p(s.PersistDrop, "\t\t%d connection%s dropped by persist timeout\n")
	p(s.FinWait2Drops, "\t%d Connection%s (fin_wait_2) dropped because of timeout\n")
	p(s.KeepTimeo, "\t%d keepalive timeout%s\n")
	p(s.KeepProbe, "\t\t%d keepalive probe%s sent\n")
	p(s.KeepDrops, "\t\t%d connection%s dropped by keepalive\n")
	p(s.ProgDrops, "\t%d connection%s dropped due to exceeding progress time\n")
	p(s.PredAck, "\t%d correct ACK header prediction%s\n")
	p(s.PredDat, "\t%d correct data packet header prediction%s\n")

	p3(s.SCAdded, "\t%d syncache entr%s added\n")
	p1a(s.SCRetransmitted, "\t\t%d retransmitted\n")
	p1a(s.SCDupSyn, "\t\t%d dupsyn\n")
	p1a(s.SCDropped, "\t\t%d dropped\n")
	p1a(s.SCCompleted, "\t\t%d completed\n")
	p1a(s.SCBucketOverflow, "\t\t%d bucket overflow\n")
	p1a(s.SCCacheOverflow, "\t\t%d cache overflow\n")
	p1a(s.SCReset, "\t\t%d reset\n")
	p1a(s.SCStale, "\t\t%d stale\n")
	p1a(s.SCAborted, "\t\t%d aborted\n")
	p1a(s.SCBadAck, "\t\t%d badack\n")
	p1a(s.SCUnreach, "\t\t%d unreach\n")
	p(s.SCZoneFail, "\t\t%d zone failure%s\n")
	p(s.SCSendCookie, "\t%d cookie%s sent\n")
	p(s.SCRecvCookie, "\t%d cookie%s received\n")

	p3(s.HCAdded, "\t%d hostcache entr%s added\n")
	p1a(s.HCBucketOverflow, "\t\t%d bucket overflow\n")

	p(s.SACKRecoveryEpisode, "\t%d SACK recovery episode%s\n")
	p(s.SACKRexmits, "\t%d segment rexmit%s in SACK recovery episodes\n")
	p(s.SACKRexmitBytes, "\t%d byte rexmit%s in SACK recovery episodes\n")
	p(s.SACKRcvBlocks, "\t%d SACK option%s (SACK blocks) received\n")
	p(s.SACKSendBlocks, "\t%d SACK option%s (SACK blocks) sent\n")
	p(s.SACKLostRexmt, "\t%d SACK retransmission%s lost\n")
	p1a(s.SACKSBOverflow, "\t%d SACK scoreboard overflow\n")

	p(s.ECNRcvCE, "\t%d packet%s received with ECN CE bit set\n")
	p(s.ECNRcvECT0, "\t%d packet%s received with ECN ECT(0) bit set\n")
	p(s.ECNRcvECT1, "\t%d packet%s received with ECN ECT(1) bit set\n")
	p(s.ECNSndECT0, "\t%d packet%s sent with ECN ECT(0) bit set\n")
	p(s.ECNSndECT1, "\t%d packet%s sent with ECN ECT(1) bit set\n")
	p(s.ECNShs, "\t%d successful ECN handshake%s\n")
	p(s.ECNRcwnd, "\t%d time%s ECN reduced the congestion window\n")

	p(s.ACENect, "\t%d ACE SYN packet%s with Non-ECT\n")
	p(s.ACEECT0, "\t%d ACE SYN packet%s with ECT0\n")
	p(s.ACEECT1, "\t%d ACE SYN packet%s with ECT1\n")
	p(s.ACECE, "\t%d ACE SYN packet%s with CE\n")

	p(s.SigRcvGoodSig, "\t%d packet%s with matching signature received\n")
	p(s.SigRcvBadSig, "\t%d packet%s with bad signature received\n")
	p(s.SigErrBuildSig, "\t%d time%s failed to make signature due to no SA\n")
	p(s.SigErrSigOpt, "\t%d time%s unexpected signature received\n")
	p(s.SigErrNoSigOpt, "\t%d time%s no signature provided by segment\n")

	p(s.PMTUDBlackholeActivated, "\t%d Path MTU discovery black hole detection activation%s\n")
	p(s.PMTUDBlackholeActivatedMinMSS, "\t%d Path MTU discovery black hole detection min MSS activation%s\n")
	p(s.PMTUDBlackholeFailed, "\t%d Path MTU discovery black hole detection failure%s\n")

	p(s.TWResponds, "\t%d time%s connection in TIME-WAIT responded with ACK\n")
	p(s.TWRecycles, "\t%d time%s connection in TIME-WAIT was actively recycled\n")
	p(s.TWResets, "\t%d time%s connection in TIME-WAIT responded with RST\n")

	w.WriteString("TCP connection count by state:\n")
	for i, n := range states {
		if sflag > 1 && n == 0 {
			continue
		}
		noun := "connections"
		if n == 1 {
			noun = "connection " // libxo keeps the blank before the comma
		}
		fmt.Fprintf(w, "\t%d %s in %s state\n", n, noun, tcpStates[i])
	}
	return w.Flush()
}
