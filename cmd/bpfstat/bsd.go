package main

// FreeBSD netstat's dialect: the default on FreeBSD, and --style bsd
// anywhere (on Linux it renders Linux sockets the FreeBSD way).
//
// Flags follow FreeBSD 14's usr.bin/netstat/main.c and BSD getopt(3):
// options stop at the first operand, diagnostics are libc's "illegal
// option -- x" and "option requires an argument -- x", both followed by
// netstat's usage text and exit status 1. Supported: -4 -6 -a -f -I -i
// -L -l -n -p -S -u -W -b -d, and -s/-ss alone or with -p tcp, udp, ip
// or icmp. Modes bpfstat does not implement (other -s uses, -r, -g, -m,
// -B, -Q, -w, -x, -T, -R, -A, -C, -c, -P, -h, -z, -F, -M, -N, -q and
// interval/core operands) fail with a "not supported with --style bsd"
// message and exit status 1.
//
// On Linux, -i shows Linux's interfaces (net.Interfaces order via the
// snapshot's ioctls); address rows show 0 packets because Linux keeps no
// per-address counters.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bpfstat/bpfstat/internal/names"
	"github.com/bpfstat/bpfstat/internal/render/bsd"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// bsdShort is FreeBSD 14 netstat's getopt string.
const bsdShort = "46AaBbCcdF:f:ghI:iLlM:mN:nPp:Qq:RrSTsuWw:xz"

const bsdUsage = `usage: netstat [-46AaCcLnRSTWx] [-f protocol_family | -p protocol]
               [-M core] [-N system]
       netstat -i | -I interface [-46abdhnW] [-f address_family]
               [-M core] [-N system]
       netstat -w wait [-I interface] [-46d] [-M core] [-N system]
               [-q howmany]
       netstat -s [-46sz] [-f protocol_family | -p protocol]
               [-M core] [-N system]
       netstat -i | -I interface -s [-46s]
               [-f protocol_family | -p protocol] [-M core] [-N system]
       netstat -m [-M core] [-N system]
       netstat -B [-z] [-I interface]
       netstat -r [-46AnW] [-F fibnum] [-f address_family]
               [-M core] [-N system]
       netstat -rs [-s] [-M core] [-N system]
       netstat -g [-46W] [-f address_family] [-M core] [-N system]
       netstat -gs [-46s] [-f address_family] [-M core] [-N system]
       netstat -Q
`

// bsdProtocols are main.c's protox names -p accepts; the socket
// printers are in bsd.KnownProtocol, the rest have stats only.
var bsdProtocols = []string{"tcp", "udp", "sctp", "divert", "ip", "icmp", "igmp", "ipsec", "pim", "carp",
	"pfsync", "arp", "ip6", "icmp6", "ipsec6", "rip6", "pfkey"}

// bsdFlags is a parsed FreeBSD netstat command line.
type bsdFlags struct {
	sock       bsd.Options
	ifo        bsd.IfOptions
	interfaces bool
	stats      int
	proto      string
	pflag      bool
	operands   []string
}

// stripStyle removes --style X / --style=X before "--".
func stripStyle(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "--style=") {
			continue
		}
		if a == "--style" {
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// errUsage asks the caller to print the usage text and exit 1.
var errUsage = errors.New("usage")

// parseBSDFlags parses args (without argv[0]) with BSD getopt semantics.
// prog is getprogname() for libc's diagnostics.
func parseBSDFlags(prog string, args []string, ew io.Writer) (*bsdFlags, error) {
	f := &bsdFlags{}
	unsupported := func(c byte) error {
		return fmt.Errorf("-%c is not supported with --style bsd", c)
	}
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		i++
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(bsdShort, c)
			if c == ':' || k < 0 {
				fmt.Fprintf(ew, "%s: illegal option -- %c\n", prog, c)
				return nil, errUsage
			}
			arg := ""
			if k+1 < len(bsdShort) && bsdShort[k+1] == ':' {
				if j+1 < len(a) {
					arg = a[j+1:]
				} else if i < len(args) {
					arg = args[i]
					i++
				} else {
					fmt.Fprintf(ew, "%s: option requires an argument -- %c\n", prog, c)
					return nil, errUsage
				}
				j = len(a)
			}
			switch c {
			case '4':
				f.sock.Family = bsd.AFInet
			case '6':
				f.sock.Family = bsd.AFInet6
			case 'a':
				f.sock.All = true
			case 'b':
				f.ifo.Bytes = true
			case 'd':
				f.ifo.Drops = true
			case 'f':
				switch arg {
				case "inet":
					f.sock.Family = bsd.AFInet
				case "inet6":
					f.sock.Family = bsd.AFInet6
				case "unix", "local":
					f.sock.Family = bsd.AFUnix
				case "link":
					f.sock.Family = bsd.AFLink
				default:
					return nil, fmt.Errorf("%s: unknown address family", arg)
				}
			case 'I':
				f.interfaces = true
				f.ifo.Interface = arg
			case 'i':
				f.interfaces = true
			case 'L':
				f.sock.Listen = true
			case 'n':
				f.sock.NumericAddr, f.sock.NumericPort = true, true
			case 'S':
				f.sock.NumericAddr = true
			case 'p':
				known := false
				for _, p := range bsdProtocols {
					known = known || p == arg
				}
				if !known {
					return nil, fmt.Errorf("%s: unknown or uninstrumented protocol", arg)
				}
				f.proto, f.pflag = arg, true
			case 's':
				f.stats++
			case 'u':
				f.sock.Family = bsd.AFUnix
			case 'W', 'l':
				f.sock.Wide = true
			default:
				return nil, unsupported(c)
			}
		}
	}
	f.operands = args[i:]
	if len(f.operands) > 0 {
		if c := f.operands[0][0]; c >= '0' && c <= '9' {
			if n, _ := strconv.Atoi(f.operands[0]); n <= 0 {
				return nil, errUsage
			}
			return nil, errors.New("interval mode is not supported with --style bsd")
		}
		return nil, errors.New("reading a kernel core (system/core operands) is not supported with --style bsd")
	}
	return f, nil
}

func runBSD(cmd *cobra.Command, args []string) error {
	w, ew := cmd.OutOrStdout(), cmd.ErrOrStderr()
	prog := filepath.Base(progName)
	f, err := parseBSDFlags(prog, stripStyle(args), ew)
	if errors.Is(err, errUsage) {
		io.WriteString(ew, bsdUsage)
		return exitError(1)
	}
	if err != nil {
		fmt.Fprintf(ew, "%s: %v\n", prog, err)
		return exitError(1)
	}
	resolver := names.NewResolver()
	if f.sock.NumericAddr {
		resolver.DNS = nil
	}
	if fixtureRoot != "" {
		resolver = &names.Resolver{Root: fixtureRoot}
	}
	f.sock.Names, f.ifo.Names = resolver, resolver
	f.ifo.NumericAddr, f.ifo.Wide, f.ifo.Family = f.sock.NumericAddr, f.sock.Wide, f.sock.Family
	if h, err := os.Hostname(); err == nil {
		if _, d, ok := strings.Cut(h, "."); ok {
			f.sock.LocalDomain = d
		}
	}
	if f.stats > 0 {
		return bsdStats(w, ew, prog, f)
	}
	if f.interfaces {
		if f.sock.All {
			fmt.Fprintf(ew, "%s: -i -a (multicast group rows) is not supported with --style bsd\n", prog)
			return exitError(1)
		}
		ifs, err := bsdInterfaces()
		if err != nil {
			fmt.Fprintf(ew, "%s: %v\n", prog, err)
			return exitError(1)
		}
		return bsd.Interfaces(w, ifs, f.ifo)
	}
	if f.sock.Family == bsd.AFLink {
		// main.c: AF_LINK has no socket printers.
		return nil
	}
	if f.pflag && !bsd.KnownProtocol(f.proto) {
		if f.proto != "sctp" && f.proto != "divert" {
			fmt.Fprintf(w, "%s: no PCB routine\n", f.proto)
		}
		return nil
	}
	f.sock.Proto = f.proto
	f.sock.PtrBits = strconv.IntSize
	res, err := loadSockets(socketQuery{Source: "auto", Protos: bsdProtos(f), Families: bsdFamilies(f.sock.Family)})
	if err != nil {
		fmt.Fprintf(ew, "%s: %v\n", prog, err)
		return exitError(1)
	}
	if runtime.GOOS == "linux" && fixtureRoot == "" {
		// Unix peers and IPV6_V6ONLY (tcp46) from sock_diag, when it answers.
		f.sock.V6OnlyKnown = snapshot.FillSockDiag(res.Sockets) == nil
	}
	if err := bsd.Sockets(w, res.Sockets, f.sock); err != nil {
		return err
	}
	if runtime.GOOS == "freebsd" {
		// A pcblist that kept changing while read: netstat's notice.
		for _, wn := range res.Warnings {
			fmt.Fprintln(w, wn.Text)
		}
	}
	return nil
}

func bsdProtos(f *bsdFlags) []sock.Proto {
	switch f.proto {
	case "tcp":
		return []sock.Proto{sock.ProtoTCP}
	case "udp":
		return []sock.Proto{sock.ProtoUDP}
	case "ip", "icmp", "igmp", "ip6", "icmp6":
		return []sock.Proto{sock.ProtoRaw}
	}
	if f.sock.Family == bsd.AFUnix {
		return []sock.Proto{sock.ProtoUnix}
	}
	if f.sock.Family != bsd.AFUnspec {
		return []sock.Proto{sock.ProtoTCP, sock.ProtoUDP, sock.ProtoRaw}
	}
	return nil
}

func bsdFamilies(af int) []sock.Family {
	switch af {
	case bsd.AFInet, bsd.AFInet6:
		// tcp46 sockets are IPv6 sockets printed as IPv4 too.
		return []sock.Family{sock.FamilyInet, sock.FamilyInet6}
	case bsd.AFUnix:
		return []sock.Family{sock.FamilyUnix}
	}
	return nil
}

// bsdStats prints -s: one protocol with -p (tcp, udp, ip or icmp), else
// every protocol bpfstat knows in main.c's protox order (tcp, udp, ip,
// icmp; sctp, divert, igmp, ipsec, pim, carp, pfsync, arp and the inet6
// tables have no source here and are left out, as netstat leaves out a
// protocol whose sysctl does not exist). With -f inet6 (or -6) netstat
// walks ip6protox, whose only shared entries are tcp and udp; with
// -f unix or -f link it prints no statistics. A protocol whose counters
// cannot be read gets a "netstat: ..." line on stderr (netstat's xo_warn
// after a failed sysctl) and the others are still printed; the exit
// status is then 1 (netstat's is 0: a refused struct layout is
// bpfstat's limit, not the kernel's).
func bsdStats(w, ew io.Writer, prog string, f *bsdFlags) error {
	if f.interfaces {
		fmt.Fprintf(ew, "%s: per-interface statistics (-i -s) are not supported with --style bsd\n", prog)
		return exitError(1)
	}
	protos := []string{f.proto}
	if !f.pflag {
		switch f.sock.Family {
		case bsd.AFUnspec, bsd.AFInet:
			protos = []string{"tcp", "udp", "ip", "icmp"}
		case bsd.AFInet6:
			protos = []string{"tcp", "udp"}
		default:
			return nil
		}
	}
	failed := false
	for _, p := range protos {
		if err := bsdProtoStats(w, p, f.stats); err != nil {
			fmt.Fprintf(ew, "%s: %v\n", prog, err)
			failed = true
		}
	}
	if failed {
		return exitError(1)
	}
	return nil
}

// bsdProtoStats prints one protocol's -s section.
func bsdProtoStats(w io.Writer, proto string, sflag int) error {
	switch proto {
	case "tcp":
		st, states, err := bsdTCPStats()
		if err != nil {
			return err
		}
		return bsd.TCPStats(w, st, states, sflag)
	case "udp":
		st, err := bsdUDPStats()
		if err != nil {
			return err
		}
		return bsd.UDPStats(w, st, sflag)
	case "ip":
		st, err := bsdIPStats()
		if err != nil {
			return err
		}
		return bsd.IPStats(w, st, sflag)
	case "icmp":
		st, err := bsdICMPStats()
		if err != nil {
			return err
		}
		return bsd.ICMPStats(w, st, sflag)
	}
	return errors.New("-s is supported with --style bsd only without -p or with -p tcp, udp, ip or icmp")
}

// bsdLiveStats says -s reads FreeBSD's sysctls; elsewhere, and on
// FreeBSD when $BPFSTAT_ROOT points at /proc fixtures (the tests), the
// counters come from /proc/net/snmp and /proc/net/netstat.
func bsdLiveStats() bool {
	return runtime.GOOS == "freebsd" && fixtureRoot == ""
}

// linuxSNMP reads /proc/net/snmp into section -> counter -> value.
func linuxSNMP() (map[string]map[string]uint64, error) {
	return linuxSNMPFile("snmp", nil)
}

// linuxSNMPFile reads /proc/net/<name> (snmp or netstat: the same
// "Section: names" / "Section: values" line pairs) into m, or a new map.
func linuxSNMPFile(name string, m map[string]map[string]uint64) (map[string]map[string]uint64, error) {
	root := fixtureRoot
	if root == "" {
		root = "/"
	}
	fh, err := os.Open(filepath.Join(root, "proc/net", name))
	if err != nil {
		return nil, fmt.Errorf("reading protocol statistics: %w", err)
	}
	defer fh.Close()
	secs, err := snapshot.ParseSNMP(fh)
	if err != nil && len(secs) == 0 {
		return nil, fmt.Errorf("reading protocol statistics: %w", err)
	}
	if m == nil {
		m = map[string]map[string]uint64{}
	}
	for _, sec := range secs {
		if m[sec.Title] == nil {
			m[sec.Title] = map[string]uint64{}
		}
		for _, v := range sec.Counters {
			m[sec.Title][v.Name] = v.Value
		}
	}
	return m, nil
}

// bsdTCPStats reads TCP counters and the connection counts by state:
// struct tcpstat and net.inet.tcp.states on FreeBSD. On Linux the
// counters come from the Tcp line of /proc/net/snmp and the TcpExt line
// of /proc/net/netstat where a Linux counter means the same thing as a
// tcpstat one; the others stay 0:
//
//	tcpstat field         Linux counter
//	tcps_sndtotal         Tcp OutSegs + RetransSegs (OutSegs omits retransmissions)
//	tcps_sndpack          TcpExt TCPOrigDataSent
//	tcps_sndrexmitpack    Tcp RetransSegs
//	tcps_sndrexmitbad     TcpExt TCPSpuriousRTOs
//	tcps_delack           TcpExt DelayedACKs
//	tcps_sndprobe         TcpExt TCPWinProbe
//	tcps_rcvtotal         Tcp InSegs
//	tcps_rcvbadsum        Tcp InCsumErrors
//	tcps_rcvoopack        TcpExt TCPOFOQueue
//	tcps_rcvreassfull     TcpExt RcvPruned (dropped for lack of receive memory)
//	tcps_pawsdrop         TcpExt PAWSEstab
//	tcps_predack          TcpExt TCPHPAcks
//	tcps_preddat          TcpExt TCPHPHits
//	tcps_connattempt      Tcp ActiveOpens
//	tcps_accepts          Tcp PassiveOpens
//	tcps_conndrops        Tcp AttemptFails
//	tcps_drops            Tcp EstabResets
//	tcps_listendrop       TcpExt ListenOverflows
//	tcps_rexmttimeo       TcpExt TCPTimeouts
//	tcps_timeoutdrop      TcpExt TCPAbortOnTimeout
//	tcps_keepprobe        TcpExt TCPKeepAlive
//	tcps_sc_sendcookie    TcpExt SyncookiesSent
//	tcps_sc_recvcookie    TcpExt SyncookiesRecv
//	tcps_sack_recovery_episode  TcpExt TCPSackRecovery
//	tcps_sig_rcvbadsig    TcpExt TCPMD5Failure
//	tcps_sig_err_sigopt   TcpExt TCPMD5Unexpected
//	tcps_sig_err_nosigopt TcpExt TCPMD5NotFound
//	tcps_dsack_count      TcpExt TCPDSACKRecv
//	tcps_tw_recycles      TcpExt TWRecycled
//
// The states are counted from the socket table (the Linux TCP states
// mapped as in the socket listing; NEW_SYN_RECV counts as SYN_RCVD).
// /proc/net/netstat is optional: without it the TcpExt counters are 0.
func bsdTCPStats() (bsd.TCPStat, [bsd.TCPNStates]uint64, error) {
	if bsdLiveStats() {
		return snapshot.BSDTCPStats()
	}
	var states [bsd.TCPNStates]uint64
	snmp, err := linuxSNMP()
	if err != nil {
		return bsd.TCPStat{}, states, err
	}
	if m, err := linuxSNMPFile("netstat", snmp); err == nil {
		snmp = m
	}
	c, x := snmp["Tcp"], snmp["TcpExt"]
	st := bsd.TCPStat{
		SndTotal: c["OutSegs"] + c["RetransSegs"], SndPack: x["TCPOrigDataSent"], SndRexmitPack: c["RetransSegs"],
		SndRexmitBad: x["TCPSpuriousRTOs"], DelAck: x["DelayedACKs"], SndProbe: x["TCPWinProbe"],
		RcvTotal: c["InSegs"], RcvBadSum: c["InCsumErrors"], RcvOOPack: x["TCPOFOQueue"], RcvReassFull: x["RcvPruned"],
		PAWSDrop: x["PAWSEstab"], PredAck: x["TCPHPAcks"], PredDat: x["TCPHPHits"],
		ConnAttempt: c["ActiveOpens"], Accepts: c["PassiveOpens"], ConnDrops: c["AttemptFails"], Drops: c["EstabResets"],
		ListenDrop: x["ListenOverflows"], RexmtTimeo: x["TCPTimeouts"], TimeoutDrop: x["TCPAbortOnTimeout"],
		KeepProbe: x["TCPKeepAlive"], SCSendCookie: x["SyncookiesSent"], SCRecvCookie: x["SyncookiesRecv"],
		SACKRecoveryEpisode: x["TCPSackRecovery"], SigRcvBadSig: x["TCPMD5Failure"], SigErrSigOpt: x["TCPMD5Unexpected"],
		SigErrNoSigOpt: x["TCPMD5NotFound"], DSACKCount: x["TCPDSACKRecv"], TWRecycles: x["TWRecycled"],
	}
	socks, err := bsdTCPSockets()
	if err != nil {
		return st, states, err
	}
	for _, s := range socks {
		if i, ok := bsd.TCPStateIndex(s.State); ok && s.Proto == sock.ProtoTCP {
			states[i]++
		}
	}
	return st, states, nil
}

// bsdTCPSockets lists TCP sockets for the state counts: the daemon or a
// snapshot, or with $BPFSTAT_ROOT the fixture's /proc/net/tcp{,6} (read
// directly, so that the tests give the same counts on FreeBSD, whose
// snapshots come from sysctl whatever the root).
func bsdTCPSockets() ([]sock.Socket, error) {
	if fixtureRoot == "" {
		res, err := loadSockets(socketQuery{Source: "auto", Protos: []sock.Proto{sock.ProtoTCP},
			Families: []sock.Family{sock.FamilyInet, sock.FamilyInet6}})
		return res.Sockets, err
	}
	var all []sock.Socket
	for _, name := range []string{"tcp", "tcp6"} {
		fh, err := os.Open(filepath.Join(fixtureRoot, "proc/net", name))
		if err != nil {
			return nil, fmt.Errorf("counting TCP connections: %w", err)
		}
		socks, _, err := snapshot.ParseInet(fh, sock.ProtoTCP)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("counting TCP connections: parsing %s: %w", name, err)
		}
		all = append(all, socks...)
	}
	return all, nil
}

// bsdUDPStats reads UDP counters: struct udpstat on FreeBSD; on Linux
// /proc/net/snmp's Udp line, mapped so that "delivered" is InDatagrams:
// datagrams received = InDatagrams + NoPorts + InErrors + IgnoredMulti,
// bad checksum = InCsumErrors, no socket = NoPorts, broadcast/multicast
// undelivered = IgnoredMulti, full socket buffers = RcvbufErrors, other
// input errors count as "bad data length field".
func bsdUDPStats() (bsd.UDPStat, error) {
	if bsdLiveStats() {
		s, err := snapshot.BSDUDPStats()
		return bsd.UDPStat{IPackets: s.IPackets, HdrOps: s.HdrOps, BadSum: s.BadSum, NoSum: s.NoSum, BadLen: s.BadLen,
			NoPort: s.NoPort, NoPortBcast: s.NoPortBcast, FullSock: s.FullSock, PCBHashMiss: s.PCBHashMiss,
			OPackets: s.OPackets, FilterMcast: s.FilterMcast}, err
	}
	snmp, err := linuxSNMP()
	if err != nil {
		return bsd.UDPStat{}, err
	}
	c := snmp["Udp"]
	other := c["InErrors"]
	for _, k := range []string{"RcvbufErrors", "InCsumErrors"} {
		other -= min(other, c[k])
	}
	return bsd.UDPStat{
		IPackets:    c["InDatagrams"] + c["NoPorts"] + c["InErrors"] + c["IgnoredMulti"],
		BadLen:      other,
		BadSum:      c["InCsumErrors"],
		NoPort:      c["NoPorts"],
		NoPortBcast: c["IgnoredMulti"],
		FullSock:    c["RcvbufErrors"],
		OPackets:    c["OutDatagrams"],
	}, nil
}

// bsdIPStats reads IP counters: struct ipstat on FreeBSD; on Linux the
// Ip line of /proc/net/snmp (InReceives, InHdrErrors as bad header
// length, InAddrErrors, InUnknownProtos, InDelivers, ForwDatagrams,
// OutRequests, OutDiscards, OutNoRoutes, Reasm* and Frag*).
func bsdIPStats() (bsd.IPStat, error) {
	if bsdLiveStats() {
		return snapshot.BSDIPStats()
	}
	snmp, err := linuxSNMP()
	if err != nil {
		return bsd.IPStat{}, err
	}
	c := snmp["Ip"]
	return bsd.IPStat{
		Total: c["InReceives"], BadHLen: c["InHdrErrors"], BadAddr: c["InAddrErrors"], NoProto: c["InUnknownProtos"],
		Delivered: c["InDelivers"], Forward: c["ForwDatagrams"], LocalOut: c["OutRequests"], ODropped: c["OutDiscards"],
		NoRoute: c["OutNoRoutes"], Fragments: c["ReasmReqds"], FragDropped: c["ReasmFails"], FragTimeout: c["ReasmTimeout"],
		Reassembled: c["ReasmOKs"], Fragmented: c["FragOKs"], OFragments: c["FragCreates"], CantFrag: c["FragFails"],
	}, nil
}

// bsdICMPStats reads ICMP counters: struct icmpstat on FreeBSD; on
// Linux the IcmpMsg histograms of /proc/net/snmp, errors generated as
// the sum of Out{DestUnreachs,TimeExcds,ParmProbs,SrcQuenchs,Redirects},
// responses as Out{EchoReps,TimestampReps,AddrMaskReps}, InCsumErrors as
// bad checksums and other InErrors as too short. Linux never answers
// address mask requests: "disabled".
func bsdICMPStats() (bsd.ICMPStat, error) {
	if bsdLiveStats() {
		s, mask, err := snapshot.BSDICMPStats()
		return bsd.ICMPStat{Error: s.Error, OldICMP: s.OldICMP, OutHist: s.OutHist, BadCode: s.BadCode,
			TooShort: s.TooShort, Checksum: s.Checksum, BadLen: s.BadLen, Reflect: s.Reflect, InHist: s.InHist,
			BMcastEcho: s.BMcastEcho, BMcastTstamp: s.BMcastTstamp, BadAddr: s.BadAddr, NoRoute: s.NoRoute,
			MaskRepl: mask, MaskKnown: true}, err
	}
	snmp, err := linuxSNMP()
	if err != nil {
		return bsd.ICMPStat{}, err
	}
	c, msg := snmp["Icmp"], snmp["IcmpMsg"]
	st := bsd.ICMPStat{MaskKnown: true}
	for _, k := range []string{"OutDestUnreachs", "OutTimeExcds", "OutParmProbs", "OutSrcQuenchs", "OutRedirects"} {
		st.Error += c[k]
	}
	for _, k := range []string{"OutEchoReps", "OutTimestampReps", "OutAddrMaskReps"} {
		st.Reflect += c[k]
	}
	st.Checksum = c["InCsumErrors"]
	st.TooShort = c["InErrors"] - min(c["InErrors"], c["InCsumErrors"])
	for i := 0; i <= bsd.ICMPMaxType; i++ {
		st.InHist[i] = msg["InType"+strconv.Itoa(i)]
		st.OutHist[i] = msg["OutType"+strconv.Itoa(i)]
	}
	return st, nil
}

// bsdInterfaces lists interfaces in getifaddrs(3) order: each
// interface's link row, then its addresses.
func bsdInterfaces() ([]bsd.IfAddr, error) {
	if runtime.GOOS == "freebsd" {
		list, err := snapshot.BSDInterfaces()
		if err != nil {
			return nil, err
		}
		out := make([]bsd.IfAddr, 0, len(list))
		for _, a := range list {
			r := bsd.IfAddr{Name: a.Name, Up: a.Up, MTU: a.MTU, Index: a.Index, HW: a.HW, Addr: a.Addr, Bits: a.Bits,
				Stats: bsd.IfStats{IPackets: a.Stats.IPackets, IErrors: a.Stats.IErrors, IDrops: a.Stats.IDrops,
					IBytes: a.Stats.IBytes, OPackets: a.Stats.OPackets, OErrors: a.Stats.OErrors, OBytes: a.Stats.OBytes,
					ODrops: a.Stats.ODrops, Collisions: a.Stats.Collisions}}
			switch a.Family {
			case sock.FamilyInet:
				r.Family = bsd.AFInet
			case sock.FamilyInet6:
				r.Family = bsd.AFInet6
			case 0:
				r.Family = bsd.AFLink
			default:
				r.Family = bsd.AFUnspec
			}
			out = append(out, r)
		}
		return out, nil
	}
	snap, err := snapshot.Interfaces("")
	if err != nil {
		return nil, err
	}
	var out []bsd.IfAddr
	for _, it := range snap.Interfaces {
		if it.FetchErr != nil || strings.Contains(it.Name, ":") {
			continue // aliases show as addresses of their device on FreeBSD
		}
		up := it.Flags&0x1 != 0
		index := 0
		if ni, err := net.InterfaceByName(it.Name); err == nil {
			index = ni.Index
		}
		s := it.Stats
		link := bsd.IfAddr{Name: it.Name, Up: up, MTU: uint64(it.MTU), Index: index, Family: bsd.AFLink,
			Stats: bsd.IfStats{IPackets: s.RxPackets, IErrors: s.RxErrors, IDrops: s.RxDropped, IBytes: s.RxBytes,
				OPackets: s.TxPackets, OErrors: s.TxErrors, OBytes: s.TxBytes, ODrops: s.TxDropped, Collisions: s.Collisions}}
		if it.Type == 1 { // ARPHRD_ETHER
			link.HW = append([]byte(nil), it.HWAddr[:6]...)
		}
		out = append(out, link)
		if it.HasIP {
			m := it.Netmask
			bits := 0
			for _, b := range m {
				for ; b&0x80 != 0; b <<= 1 {
					bits++
				}
			}
			out = append(out, bsd.IfAddr{Name: it.Name, Up: up, MTU: uint64(it.MTU), Family: bsd.AFInet,
				Addr: netip.AddrFrom4(it.Addr), Bits: bits})
		}
		for _, a6 := range snap.Addrs6 {
			if a6.Dev != it.Name {
				continue
			}
			addr := netip.AddrFrom16(a6.Addr)
			if addr.IsLinkLocalUnicast() {
				addr = addr.WithZone(it.Name)
			}
			out = append(out, bsd.IfAddr{Name: it.Name, Up: up, MTU: uint64(it.MTU), Family: bsd.AFInet6,
				Addr: addr, Bits: int(a6.PrefixLen)})
		}
	}
	return out, nil
}
