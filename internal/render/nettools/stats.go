package nettools

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/snapshot"
)

// statsKind is net-tools' statistics.c "enum State": it decides the
// indentation of a line and of the unknown counters that follow it.
type statsKind int

const (
	statsNumber statsKind = iota
	statsOptNumber
	statsForward
	statsInICMP
	statsOutICMP
	statsRtoAlg
)

var statsIndent = [...]int{4, 4, 4, 8, 8, 0}

var statsKindTitle = [...]string{
	statsInICMP:  "ICMP input histogram:",
	statsOutICMP: "ICMP output histogram:",
	statsRtoAlg:  "",
}

type statsEntry struct {
	name   string
	out    string
	kind   statsKind
	static bool // I_STATIC: never printed (net-tools never sets print_static)
	titled bool // I_TITLE: a histogram line, printed under its title
}

func sN(name, out string) statsEntry { return statsEntry{name: name, out: out, kind: statsNumber} }
func sO(name, out string) statsEntry { return statsEntry{name: name, out: out, kind: statsOptNumber} }
func sIn(name, out string) statsEntry {
	return statsEntry{name: name, out: out, kind: statsInICMP, titled: true}
}
func sOut(name, out string) statsEntry {
	return statsEntry{name: name, out: out, kind: statsOutICMP, titled: true}
}

// The tables below keep net-tools' order exactly, including the entries
// out of strcmp order: it looks names up with bsearch, so a misplaced
// entry is not found and prints as an unknown counter instead.
var statsIPTab = []statsEntry{
	{name: "DefaultTTL", out: "Default TTL is %llu", kind: statsNumber, static: true},
	{name: "Forwarding", out: "Forwarding is %s", kind: statsForward, static: true},
	sN("ForwDatagrams", "%llu forwarded"),
	sO("FragCreates", "%llu fragments created"),
	sO("FragFails", "%llu outgoing packets failed fragmentation"),
	sO("FragOKs", "%llu outgoing packets fragmented ok"),
	sO("InAddrErrors", "%llu with invalid addresses"),
	sN("InDelivers", "%llu incoming packets delivered"),
	sN("InDiscards", "%llu incoming packets discarded"),
	sO("InHdrErrors", "%llu with invalid headers"),
	sN("InReceives", "%llu total packets received"),
	sO("InUnknownProtos", "%llu with unknown protocol"),
	sO("OutDiscards", "%llu outgoing packets dropped"),
	sO("OutNoRoutes", "%llu dropped because of missing route"),
	sN("OutRequests", "%llu requests sent out"),
	sO("ReasmFails", "%llu packet reassemblies failed"),
	sO("ReasmOKs", "%llu packets reassembled ok"),
	sO("ReasmReqds", "%llu reassemblies required"),
	sO("ReasmTimeout", "%llu fragments dropped after timeout"),
}

var statsIP6Tab = []statsEntry{
	sO("Ip6FragCreates", "%llu fragments created"),
	sO("Ip6FragFails", "%llu outgoing packets failed fragmentation"),
	sO("Ip6FragOKs", "%llu outgoing packets fragmented ok"),
	sO("Ip6InAddrErrors", "%llu with invalid addresses"),
	sN("Ip6InDelivers", "%llu incoming packets delivered"),
	sN("Ip6InDiscards", "%llu incoming packets discarded"),
	sO("Ip6InHdrErrors", "%llu with invalid headers"),
	sO("Ip6InMcastPkts", "%llu incoming multicast packets"),
	sO("Ip6InNoRoutes", "%llu incoming packets with no route"),
	sN("Ip6InReceives", "%llu total packets received"),
	sO("Ip6InTooBigErrors", "%llu with packets too big"),
	sO("Ip6InTruncatedPkts", "%llu with truncated packets"),
	sO("Ip6InUnknownProtos", "%llu with unknown protocol"),
	sO("Ip6OutDiscards", "%llu outgoing packets dropped"),
	sN("Ip6OutForwDatagrams", "%llu forwarded"),
	sO("Ip6OutMcastPkts", "%llu outgoing multicast packets"),
	sO("Ip6OutNoRoutes", "%llu dropped because of missing route"),
	sN("Ip6OutRequests", "%llu requests sent out"),
	sO("Ip6ReasmFails", "%llu packet reassemblies failed"),
	sO("Ip6ReasmOKs", "%llu packets reassembled ok"),
	sO("Ip6ReasmReqds", "%llu reassemblies required"),
	sO("Ip6ReasmTimeout", "%llu fragments dropped after timeout"),
}

var statsICMPTab = []statsEntry{
	sIn("InAddrMaskReps", "address mask replies: %llu"),
	sIn("InAddrMasks", "address mask request: %llu"),
	sIn("InDestUnreachs", "destination unreachable: %llu"),
	sIn("InEchoReps", "echo replies: %llu"),
	sIn("InEchos", "echo requests: %llu"),
	sN("InErrors", "%llu input ICMP message failed"),
	sN("InMsgs", "%llu ICMP messages received"),
	sIn("InParmProbs", "wrong parameters: %llu"),
	sIn("InRedirects", "redirects: %llu"),
	sIn("InSrcQuenchs", "source quenches: %llu"),
	sIn("InTimeExcds", "timeout in transit: %llu"),
	sIn("InTimestampReps", "timestamp reply: %llu"),
	sIn("InTimestamps", "timestamp request: %llu"),
	sOut("OutAddrMaskReps", "address mask replies: %llu"),
	sOut("OutAddrMasks", "address mask requests: %llu"),
	sOut("OutDestUnreachs", "destination unreachable: %llu"),
	sOut("OutEchoReps", "echo replies: %llu"),
	sOut("OutEchos", "echo requests: %llu"),
	sN("OutErrors", "%llu ICMP messages failed"),
	sN("OutMsgs", "%llu ICMP messages sent"),
	sOut("OutParmProbs", "wrong parameters: %llu"),
	sOut("OutRedirects", "redirect: %llu"),
	sOut("OutSrcQuenchs", "source quench: %llu"),
	sOut("OutTimeExcds", "time exceeded: %llu"),
	sOut("OutTimestampReps", "timestamp replies: %llu"),
	sOut("OutTimestamps", "timestamp requests: %llu"),
}

var statsICMP6Tab = []statsEntry{
	sIn("Icmp6InDestUnreachs", "destination unreachable: %llu"),
	sIn("Icmp6InEchoReplies", "echo replies: %llu"),
	sIn("Icmp6InEchos", "echo requests: %llu"),
	sN("Icmp6InErrors", "%llu input ICMP message failed"),
	sIn("Icmp6InGroupMembQueries", "group member queries: %llu"),
	sIn("Icmp6InGroupMembReductions", "group member reductions: %llu"),
	sIn("Icmp6InGroupMembResponses", "group member responses: %llu"),
	sN("Icmp6InMsgs", "%llu ICMP messages received"),
	sIn("Icmp6InNeighborAdvertisements", "neighbour advertisement: %llu"),
	sIn("Icmp6InNeighborSolicits", "neighbour solicits: %llu"),
	sIn("Icmp6InParmProblems", "parameter problem: %llu"),
	sIn("Icmp6InPktTooBigs", "packets too big: %llu"),
	sIn("Icmp6InRedirects", "redirects: %llu"),
	sIn("Icmp6InRouterAdvertisements", "router advertisement: %llu"),
	sIn("Icmp6InRouterSolicits", "router solicits: %llu"),
	sIn("Icmp6InTimeExcds", "received ICMPv6 time exceeded: %llu"),
	sOut("Icmp6OutDestUnreachs", "destination unreachable: %llu"),
	sOut("Icmp6OutEchoReplies", "echo replies: %llu"),
	sOut("Icmp6OutEchos", "echo requests: %llu"),
	sOut("Icmp6OutGroupMembQueries", "group member queries: %llu"),
	sOut("Icmp6OutGroupMembReductions", "group member reductions: %llu"),
	sOut("Icmp6OutGroupMembResponses", "group member responses: %llu"),
	sN("Icmp6OutMsgs", "%llu ICMP messages sent"),
	sOut("Icmp6OutNeighborAdvertisements", "neighbor advertisements: %llu"),
	sOut("Icmp6OutNeighborSolicits", "neighbor solicits: %llu"),
	sOut("Icmp6OutParmProblems", "parameter problem: %llu"),
	sOut("Icmp6OutPktTooBigs", "packets too big: %llu"),
	sOut("Icmp6OutRedirects", "redirects: %llu"),
	// The trailing space is net-tools': this entry never matches.
	sOut("Icmp6OutRouterAdvertisements ", "router advertisement: %llu"),
	sOut("Icmp6OutRouterSolicits", "router solicits: %llu"),
	sOut("Icmp6OutTimeExcds", "sent ICMPv6 time exceeded: %llu"),
}

var statsTCPTab = []statsEntry{
	sN("ActiveOpens", "%llu active connection openings"),
	sN("AttemptFails", "%llu failed connection attempts"),
	sN("CurrEstab", "%llu connections established"),
	sN("EstabResets", "%llu connection resets received"),
	sN("InErrs", "%llu bad segments received"),
	sN("InSegs", "%llu segments received"),
	sN("MaxConn", ""),
	sN("OutRsts", "%llu resets sent"),
	sN("OutSegs", "%llu segments sent out"),
	sN("PassiveOpens", "%llu passive connection openings"),
	sN("RetransSegs", "%llu segments retransmitted"),
	{name: "RtoAlgorithm", out: "RTO algorithm is %s", kind: statsRtoAlg, static: true},
	sN("RtoMax", ""),
	sN("RtoMin", ""),
}

var statsUDPTab = []statsEntry{
	sN("InDatagrams", "%llu packets received"),
	sN("InErrors", "%llu packet receive errors"),
	sN("NoPorts", "%llu packets to unknown port received"),
	sN("OutDatagrams", "%llu packets sent"),
	sN("RcvbufErrors", "%llu receive buffer errors"),
	sN("SndbufErrors", "%llu send buffer errors"),
}

var statsUDP6Tab = []statsEntry{
	sN("Udp6InDatagrams", "%llu packets received"),
	sN("Udp6InErrors", "%llu packet receive errors"),
	sN("Udp6NoPorts", "%llu packets to unknown port received"),
	sN("Udp6OutDatagrams", "%llu packets sent"),
}

var statsTCPExtTab = []statsEntry{
	sO("DelayedACKLocked", "%llu delayed acks further delayed because of locked socket"),
	sO("DelayedACKLost", "Quick ack mode was activated %llu times"),
	sO("DelayedACKs", "%llu delayed acks sent"),
	sO("EmbryonicRsts", "%llu resets received for embryonic SYN_RECV sockets"),
	sO("ListenDrops", "%llu SYNs to LISTEN sockets dropped"),
	sO("ListenOverflows", "%llu times the listen queue of a socket overflowed"),
	sO("LockDroppedIcmps", "%llu ICMP packets dropped because socket was locked"),
	sO("OfoPruned", "%llu packets dropped from out-of-order queue because of socket buffer overrun"),
	sO("OutOfWindowIcmps", "%llu ICMP packets dropped because they were out-of-window"),
	sO("PAWSActive", "%llu active connections rejected because of time stamp"),
	sO("PAWSEstab", "%llu packets rejected in established connections because of timestamp"),
	sO("PAWSPassive", "%llu passive connections rejected because of time stamp"),
	sO("PruneCalled", "%llu packets pruned from receive queue because of socket buffer overrun"),
	sO("RcvPruned", "%llu packets pruned from receive queue"),
	sO("SockMallocOOM", "Ran %llu times out of system memory during packet sending"),
	sO("SyncookiesFailed", "%llu invalid SYN cookies received"),
	sO("SyncookiesRecv", "%llu SYN cookies received"),
	sO("SyncookiesSent", "%llu SYN cookies sent"),
	sO("TCPAbortFailed", "%llu times unable to send RST due to no memory"),
	sO("TCPAbortOnClose", "%llu connections reset due to early user close"),
	sO("TCPAbortOnData", "%llu connections reset due to unexpected data"),
	sO("TCPAbortOnLinger", "%llu connections aborted after user close in linger timeout"),
	sO("TCPAbortOnMemory", "%llu connections aborted due to memory pressure"),
	sO("TCPAbortOnSyn", "%llu connections reset due to unexpected SYN"),
	sO("TCPAbortOnTimeout", "%llu connections aborted due to timeout"),
	sO("TCPDirectCopyFromBacklog", "%llu bytes directly in process context from backlog"),
	sO("TCPDirectCopyFromPrequeue", "%llu bytes directly received in process context from prequeue"),
	sO("TCPDSACKOfoRecv", "%llu DSACKs for out of order packets received"),
	sO("TCPDSACKOfoSent", "%llu DSACKs sent for out of order packets"),
	sO("TCPDSACKOldSent", "%llu DSACKs sent for old packets"),
	sO("TCPDSACKRecv", "%llu DSACKs received"),
	sO("TCPDSackUndo", "%llu congestion window recovered without slow start using DSACK"),
	sO("TCPDSACKUndo", "%llu congestion windows recovered without slow start by DSACK"),
	sO("TCPFACKReorder", "Detected reordering %llu times using FACK"),
	sO("TCPFastRetrans", "%llu fast retransmits"),
	sO("TCPForwardRetrans", "%llu forward retransmits"),
	sO("TCPFullUndo", "%llu congestion windows fully recovered without slow start"),
	sO("TCPHPAcks", "%llu predicted acknowledgments"),
	sN("TCPHPHits", "%llu packet headers predicted"),
	sO("TCPHPHitsToUser", "%llu packet headers predicted and directly queued to user"),
	sO("TCPLossFailures", "%llu timeouts in loss state"),
	sO("TCPLoss", "%llu TCP data loss events"),
	sO("TCPLossUndo", "%llu congestion windows recovered without slow start after partial ack"),
	sO("TCPLostRetransmits", "%llu retransmits lost"),
	sO("TCPMemoryPressures", "TCP ran low on memory %llu times"),
	sO("TCPPartialUndo", "%llu congestion windows partially recovered using Hoe heuristic"),
	sO("TCPPrequeued", "%llu packets directly queued to recvmsg prequeue"),
	sO("TCPPrequeueDropped", "%llu packets dropped from prequeue"),
	sO("TCPPureAcks", "%llu acknowledgments not containing data payload received"),
	sO("TCPRcvCollapsed", "%llu packets collapsed in receive queue due to low socket buffer"),
	sO("TCPRenoFailures", "%llu timeouts after reno fast retransmit"),
	sO("TCPRenoRecoveryFailed", "%llu reno fast retransmits failed"),
	sO("TCPRenoRecoveryFail", "%llu classic Reno fast retransmits failed"),
	sO("TCPRenoRecovery", "%llu times recovered from packet loss due to fast retransmit"),
	sO("TCPRenoReorder", "Detected reordering %llu times using reno fast retransmit"),
	sO("TCPSackFailures", "%llu timeouts after SACK recovery"),
	sO("TCPSackRecoveryFail", "%llu SACK retransmits failed"),
	sO("TCPSackRecovery", "%llu times recovered from packet loss by selective acknowledgements"),
	sO("TCPSACKReneging", "%llu bad SACK blocks received"),
	sO("TCPSACKReorder", "Detected reordering %llu times using SACK"),
	sO("TCPSchedulerFailed", "%llu times receiver scheduled too late for direct processing"),
	sO("TCPSlowStartRetrans", "%llu retransmits in slow start"),
	sO("TCPTimeouts", "%llu other TCP timeouts"),
	sO("TCPTSReorder", "Detected reordering %llu times using time stamp"),
	sO("TWKilled", "%llu TCP sockets finished time wait in slow timer"),
	sO("TW", "%llu TCP sockets finished time wait in fast timer"),
	sO("TWRecycled", "%llu time wait sockets recycled by time stamp"),
}

var statsSCTPTab = []statsEntry{
	sN("SctpAborteds", "%llu Number of Aborteds "),
	sN("SctpActiveEstabs", "%llu Active Associations"),
	sN("SctpChecksumErrors", "%llu Number of Packets with invalid Checksum"),
	sN("SctpCurrEstab", "%llu Current Associations"),
	sN("SctpFragUsrMsgs", "%llu Number of messages fragmented"),
	sN("SctpInCtrlChunks", "%llu Number of control chunks received"),
	sN("SctpInOrderChunks", "%llu Number of ordered chunks received"),
	sN("SctpInSCTPPacks", "%llu Number of SCTP packets received"),
	sN("SctpInUnorderChunks", "%llu Number of Unordered chunks received"),
	sN("SctpOutCtrlChunks", "%llu Number of control chunks sent"),
	sN("SctpOutOfBlues", "%llu Number of Out of Blue packets"),
	sN("SctpOutOrderChunks", "%llu Number of ordered chunks sent"),
	sN("SctpOutSCTPPacks", "%llu Number of SCTP packets sent"),
	sN("SctpOutUnorderChunks", "%llu Number of Unordered chunks sent"),
	sN("SctpPassiveEstabs", "%llu Passive Associations"),
	sN("SctpReasmUsrMsgs", "%llu Number of messages reassembled "),
	sN("SctpShutdowns", "%llu Number of Graceful Terminations"),
}

// statsFind is glibc's bsearch over a table that is not quite sorted.
func statsFind(tab []statsEntry, key string) *statsEntry {
	l, u := 0, len(tab)
	for l < u {
		i := (l + u) / 2
		switch c := strings.Compare(key, tab[i].name); {
		case c < 0:
			u = i
		case c > 0:
			l = i + 1
		default:
			return &tab[i]
		}
	}
	return nil
}

// StatsProtocols are the tables -s prints (netstat's -w, -t, -u, -S).
type StatsProtocols struct {
	Raw, TCP, UDP, SCTP bool
}

type statsTable struct {
	title string
	tab   []statsEntry
	flag  bool
}

// statsPrinter is statistics.c's state machine: the kind of the last
// printed line decides the indentation of unknown counters after it, even
// across sections and files.
type statsPrinter struct {
	w     io.Writer
	state statsKind
}

func (p *statsPrinter) table(tabs []statsTable, title string) statsTable {
	for _, t := range tabs {
		if t.title == title {
			if t.flag {
				fmt.Fprintf(p.w, "%s:\n", title)
			}
			p.state = statsNumber
			return t
		}
	}
	// Unknown sections are always printed (f_unknown), and leave the
	// indentation state as it was.
	fmt.Fprintf(p.w, "%s:\n", title)
	return statsTable{title: title, flag: true}
}

func (p *statsPrinter) value(t statsTable, name string, val uint64) {
	var e *statsEntry
	if t.tab != nil {
		e = statsFind(t.tab, name)
	}
	if e == nil {
		if val != 0 {
			fmt.Fprintf(p.w, "%*s%s: %d\n", statsIndent[p.state], "", name, val)
		}
		return
	}
	if e.static || e.out == "" {
		return
	}
	kind := e.kind
	if e.titled && p.state != kind {
		fmt.Fprintf(p.w, "%*s%s\n", statsIndent[p.state], "", statsKindTitle[kind])
	}
	var buf string
	switch kind {
	case statsOptNumber, statsInICMP, statsOutICMP:
		if val != 0 {
			buf = strings.Replace(e.out, "%llu", strconv.FormatUint(val, 10), 1)
		}
	case statsNumber:
		buf = strings.Replace(e.out, "%llu", strconv.FormatUint(val, 10), 1)
	}
	if buf != "" {
		fmt.Fprintf(p.w, "%*s%s\n", statsIndent[kind], "", buf)
	}
	p.state = kind
}

func (p *statsPrinter) sections(tabs []statsTable, secs []snapshot.StatsSection, prefix string) {
	for _, s := range secs {
		if !strings.HasPrefix(s.Title, prefix) {
			continue
		}
		t := p.table(tabs, s.Title)
		if !t.flag {
			continue
		}
		for _, c := range s.Counters {
			p.value(t, c.Name, c.Value)
		}
	}
}

func statsInetTables(f StatsProtocols) []statsTable {
	return []statsTable{
		{"Ip", statsIPTab, f.Raw},
		{"Icmp", statsICMPTab, f.Raw},
		{"Tcp", statsTCPTab, f.TCP},
		{"Udp", statsUDPTab, f.UDP},
		{"Sctp", statsSCTPTab, f.SCTP},
		{"TcpExt", statsTCPExtTab, f.TCP},
	}
}

func statsInet6Tables(f StatsProtocols) []statsTable {
	return []statsTable{
		{"Ip6", statsIP6Tab, f.Raw},
		{"Icmp6", statsICMP6Tab, f.Raw},
		{"Udp6", statsUDP6Tab, f.UDP},
		{"Tcp6", statsTCPTab, f.TCP},
	}
}

// StatsPrinter keeps net-tools' indentation state across the files of one
// netstat -s run.
type StatsPrinter struct{ p statsPrinter }

// NewStatsPrinter starts a netstat -s run writing to w.
func NewStatsPrinter(w io.Writer) *StatsPrinter { return &StatsPrinter{statsPrinter{w: w}} }

// SNMP prints one /proc/net/snmp or /proc/net/netstat file's sections.
// prefix keeps only sections whose title starts with it ("" for all).
func (s *StatsPrinter) SNMP(secs []snapshot.StatsSection, f StatsProtocols, prefix string) {
	s.p.sections(statsInetTables(f), secs, prefix)
}

// SCTP prints /proc/net/sctp/snmp under an "Sctp:" title.
func (s *StatsPrinter) SCTP(cs []snapshot.StatsCounter, f StatsProtocols) {
	tabs := statsInetTables(f)
	t := s.p.table(tabs, "Sctp")
	if !t.flag {
		return
	}
	for _, c := range cs {
		s.p.value(t, c.Name, c.Value)
	}
}

// SNMP6 prints /proc/net/snmp6, starting a section whenever a counter's
// name does not contain the current title (the name up to its first '6').
func (s *StatsPrinter) SNMP6(cs []snapshot.StatsCounter, f StatsProtocols) {
	tabs := statsInet6Tables(f)
	var cur string
	var t statsTable
	for i, c := range cs {
		if i == 0 || !strings.Contains(c.Name, cur) {
			cur = statsTitle6(c.Name)
			t = s.p.table(tabs, cur)
		}
		if t.flag {
			s.p.value(t, c.Name, c.Value)
		}
	}
}

// statsTitle6 is net-tools' cpytitle: the name up to and including its
// first '6'.
func statsTitle6(name string) string {
	if i := strings.IndexByte(name, '6'); i >= 0 {
		return name[:i+1]
	}
	return name
}
