package bsd

import (
	"bufio"
	"fmt"
	"io"
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

// IPStat are struct ipstat's counters.
type IPStat struct {
	Total, BadSum, TooShort, TooSmall, BadHLen, BadLen, Fragments, FragDropped, FragTimeout uint64
	Forward, FastForward, CantForward, RedirectSent, NoProto, Delivered, LocalOut           uint64
	ODropped, Reassembled, Fragmented, OFragments, CantFrag, BadOptions, NoRoute, BadVers   uint64
	RawOut, TooLong, NotMember, NoGif, BadAddr                                              uint64
}

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
