// Package bsd renders bpfstat's data exactly as FreeBSD 14's netstat(1)
// prints it in text mode (usr.bin/netstat inet.c, inet6.c, unix.c, if.c).
// It formats text only: sockets and interfaces come in as values, names
// through a Namer.
//
// Sockets from FreeBSD carry sock.BSD (kernel addresses, raw TCP state,
// inp_vflag). Sockets from Linux do not; they are shown the way FreeBSD
// would show the same socket, with these substitutes: the unix table's
// Address column is the socket inode in hex (Linux exports no kernel
// addresses), its Conn column the peer's inode when sock_diag told it
// (else 0) and Inode/Refs/Nextref are 0; TCP states map one to one
// (NEW_SYN_RECV as SYN_RCVD); v4-mapped IPv6 sockets show as tcp4/udp4,
// wildcard-bound IPv6 sockets without IPV6_V6ONLY as tcp46/udp46 when
// Options.V6OnlyKnown, other IPv6 sockets as tcp6/udp6.
package bsd

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/internal/ntop"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// Namer is the name service the renderer asks; names.Resolver is one.
type Namer interface {
	Service(port uint16, proto string) string
	Host(a netip.Addr) string
}

// Address families as netstat's -f/-4/-6 select them.
const (
	AFUnspec = iota
	AFInet
	AFInet6
	AFUnix
	AFLink
)

// Options are netstat's display flags.
type Options struct {
	All         bool // -a
	NumericAddr bool // -n, -S
	NumericPort bool // -n
	Family      int  // AF* from -f, -4, -6, -u
	// Proto is -p's protocol ("tcp", "udp", "ip", "icmp", "ip6",
	// "icmp6"); empty prints every protocol of Family.
	Proto  string
	Wide   bool // -W
	Listen bool // -L
	// PtrBits is the kernel's pointer width, which sizes the unix
	// table's address columns (2*sizeof(void *) hex digits): 64 unless
	// set to 32.
	PtrBits int
	// Legacy reproduces FreeBSD 4.x-6.x layouts (an extra space before
	// the Local Address column; no Idrop column in -i), as in old
	// manuals and the seed page's examples.
	Legacy bool
	// V6OnlyKnown says Socket.V6Only was read (sock_diag) for sockets
	// without a BSD part: a wildcard-bound IPv6 socket without
	// IPV6_V6ONLY then shows as tcp46/udp46, as on FreeBSD.
	V6OnlyKnown bool
	// LocalDomain is trimmed from host names (netstat's trimdomain).
	LocalDomain string
	Names       Namer
}

// FreeBSD TCP state names (netinet/tcp_fsm.h tcpstates[]).
var tcpStates = [...]string{
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT",
	"FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT",
}

// linuxToBSD maps the model's (Linux-numbered) TCP state to FreeBSD's.
var linuxToBSD = map[sock.State]int32{
	sock.StateEstablished: 4, sock.StateSynSent: 2, sock.StateSynRecv: 3,
	sock.StateFinWait1: 6, sock.StateFinWait2: 9, sock.StateTimeWait: 10,
	sock.StateClose: 0, sock.StateCloseWait: 5, sock.StateLastAck: 8,
	sock.StateListen: 1, sock.StateClosing: 7, sock.StateNewSynRecv: 3,
	sock.StateBoundInactive: 0,
}

const (
	tfNeedSyn   = 0x00000400 // TF_NEEDSYN
	tfNeedFin   = 0x00000800 // TF_NEEDFIN
	vIPv4       = 0x1        // INP_IPV4
	vIPv6       = 0x2        // INP_IPV6
	inpAnonport = 0x40       // INP_ANONPORT
)

// inpcb is the part of a struct xinpcb netstat's protopr reads.
type inpcb struct {
	vflag         uint8
	laddr, faddr  netip.Addr // 4-byte for INP_IPV4, else 16-byte
	lport, fport  uint16
	state         int32
	tflags        uint32
	inpFlags      int32
	rcv, snd      uint64
	qlen, incq, q uint32
}

func toInpcb(s *sock.Socket, v6onlyKnown bool) inpcb {
	in := inpcb{lport: s.Local.Port(), fport: s.Remote.Port(), rcv: s.RecvQ, snd: s.SendQ, state: -1}
	l, f := s.Local.Addr(), s.Remote.Addr()
	if !l.IsValid() {
		l = netip.IPv4Unspecified()
		if s.Family == sock.FamilyInet6 {
			l = netip.IPv6Unspecified()
		}
	}
	if !f.IsValid() {
		f = netip.IPv4Unspecified()
		if l.Is6() {
			f = netip.IPv6Unspecified()
		}
	}
	if s.BSD != nil {
		in.vflag = s.BSD.VFlag
		in.state = s.BSD.TCPState
		in.tflags = s.BSD.TCPFlags
		in.inpFlags = s.BSD.InpFlags
		in.qlen, in.incq, in.q = s.BSD.QLen, s.BSD.IncQLen, s.BSD.QLimit
	} else {
		if s.Proto == sock.ProtoRaw {
			// /proc/net/raw's "port" is the protocol; raw PCBs have none.
			in.lport, in.fport = 0, 0
		}
		if st, ok := linuxToBSD[s.State]; ok {
			in.state = st
		}
		if l.Is4In6() && (f.Is4In6() || f.IsUnspecified()) {
			// A v4 peer on a dual-stack socket: FreeBSD shows tcp4.
			l, f = l.Unmap(), f.Unmap()
			if f.Is6() {
				f = netip.IPv4Unspecified()
			}
		}
		switch {
		case l.Is4():
			in.vflag = vIPv4
		case v6onlyKnown && !s.V6Only && l.IsUnspecified():
			in.vflag = vIPv4 | vIPv6 // in6_pcbbind's dual-stack wildcard
		default:
			in.vflag = vIPv6
		}
		if s.State == sock.StateListen && s.Proto == sock.ProtoTCP {
			// /proc/net/tcp shows a listener's accept queue and backlog
			// in the queue columns.
			in.qlen, in.q = uint32(s.RecvQ), uint32(s.SendQ)
			if in.q == 0 {
				in.q = 1
			}
		}
	}
	if in.vflag&vIPv4 != 0 && !l.Is4() {
		// tcp46: inp_laddr is the low 32 bits of in6p_laddr.
		a, b := l.As16(), f.As16()
		l, f = netip.AddrFrom4([4]byte(a[12:])), netip.AddrFrom4([4]byte(b[12:]))
	}
	in.laddr, in.faddr = l, f
	return in
}

// protocol is one of protox[]'s socket printers.
type protocol struct {
	name  string
	proto sock.Proto
	raw   uint16 // IP protocol for raw sockets
	v6    bool   // ip6protox entry (raw only)
}

// The order of main.c's protox[] then ip6protox[], for the entries that
// print sockets (tcp and udp appear once: protopr prints both families).
var protocols = []protocol{
	{name: "tcp", proto: sock.ProtoTCP},
	{name: "udp", proto: sock.ProtoUDP},
	{name: "ip", proto: sock.ProtoRaw, raw: 255},
	{name: "icmp", proto: sock.ProtoRaw, raw: 1},
	{name: "igmp", proto: sock.ProtoRaw, raw: 2},
	{name: "ip6", proto: sock.ProtoRaw, raw: 255, v6: true},
	{name: "icmp6", proto: sock.ProtoRaw, raw: 58, v6: true},
}

// KnownProtocol says whether -p accepts name for socket listings.
func KnownProtocol(name string) bool {
	for _, p := range protocols {
		if p.name == name {
			return true
		}
	}
	return false
}

type writer struct {
	*bufio.Writer
	o Options
}

func (w *writer) pad(s string, width int, left, trunc bool) {
	if trunc && len(s) > width {
		s = s[:width]
	}
	n := width - len(s)
	if !left {
		for ; n > 0; n-- {
			w.WriteByte(' ')
		}
	}
	w.WriteString(s)
	if left {
		for ; n > 0; n-- {
			w.WriteByte(' ')
		}
	}
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Sockets prints the socket listing: Internet protocols in protox order,
// then the unix domain, as netstat does without -i, -r, -s, -m.
func Sockets(out io.Writer, socks []sock.Socket, o Options) error {
	w := &writer{Writer: bufio.NewWriter(out), o: o}
	first := true
	af := o.Family
	if af == AFUnspec || af == AFInet || af == AFInet6 {
		for _, p := range protocols {
			if o.Proto != "" && o.Proto != p.name {
				continue
			}
			if o.Proto == "" && p.v6 && af == AFInet {
				continue
			}
			if o.Proto == "" && !p.v6 && p.proto == sock.ProtoRaw && af == AFInet6 {
				continue
			}
			w.protopr(socks, p, &first)
		}
	}
	if (af == AFUnix || af == AFUnspec) && o.Proto == "" {
		w.unixpr(socks)
	}
	return w.Flush()
}

// lnaofZero is inet_lnaof(a) == INADDR_ANY: the classful host part is 0.
func lnaofZero(a netip.Addr) bool {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	switch {
	case v&0x80000000 == 0:
		return v&0x00ffffff == 0
	case v&0xc0000000 == 0x80000000:
		return v&0x0000ffff == 0
	}
	return v&0x000000ff == 0
}

func (w *writer) protopr(socks []sock.Socket, p protocol, first *bool) {
	o := w.o
	istcp := p.proto == sock.ProtoTCP
	for i := range socks {
		s := &socks[i]
		if s.Proto != p.proto || s.Family == sock.FamilyUnix {
			continue
		}
		if p.proto == sock.ProtoRaw && (s.RawProto != p.raw || (s.Family == sock.FamilyInet6) != p.v6) {
			continue
		}
		inp := toInpcb(s, o.V6OnlyKnown)
		v4, v6 := inp.vflag&vIPv4 != 0, inp.vflag&vIPv6 != 0
		switch o.Family {
		case AFInet:
			if !v4 {
				continue
			}
		case AFInet6:
			if !v6 {
				continue
			}
		default:
			if !v4 && !v6 {
				continue
			}
		}
		if !o.All && ((istcp && inp.state == 1) ||
			(o.Family == AFInet && lnaofZero(inp.laddr4())) ||
			(o.Family == AFInet6 && inp.laddr.IsUnspecified()) ||
			(o.Family == AFUnspec && ((v4 && lnaofZero(inp.laddr4())) || (v6 && inp.laddr.IsUnspecified())))) {
			continue
		}
		if *first {
			w.inetHeader()
			*first = false
		}
		if o.Listen && inp.q == 0 {
			continue
		}
		w.inetRow(p, &inp, istcp)
	}
}

func (in *inpcb) laddr4() netip.Addr {
	if in.laddr.Is4() {
		return in.laddr
	}
	b := in.laddr.As16()
	return netip.AddrFrom4([4]byte(b[12:]))
}

func (w *writer) inetHeader() {
	o := w.o
	if o.Listen {
		w.WriteString("Current listen queue sizes (qlen/incqlen/maxqlen)")
	} else {
		w.WriteString("Active Internet connections")
		if o.All {
			w.WriteString(" (including servers)")
		}
	}
	w.WriteString("\n")
	width := 22
	if o.Wide && o.Family != AFInet {
		width = 45
	}
	if o.Listen {
		w.pad("Proto", 5, true, true)
		w.WriteByte(' ')
		w.pad("Listen", 32, true, true)
		w.WriteByte(' ')
		w.pad("Local Address", width, true, true)
	} else {
		w.pad("Proto", 5, true, true)
		w.WriteByte(' ')
		w.pad("Recv-Q", 6, true, true)
		w.WriteByte(' ')
		w.pad("Send-Q", 6, true, true)
		w.WriteByte(' ')
		if o.Legacy {
			w.WriteByte(' ')
		}
		w.pad("Local Address", width, true, true)
		w.WriteByte(' ')
		w.pad("Foreign Address", width, true, true)
		w.WriteString(" (state)")
	}
	w.WriteString("\n")
}

func (w *writer) inetRow(p protocol, inp *inpcb, istcp bool) {
	o := w.o
	vchar := ""
	switch {
	case inp.vflag&vIPv6 != 0 && inp.vflag&vIPv4 != 0:
		vchar = "46"
	case inp.vflag&vIPv6 != 0:
		vchar = "6"
	case inp.vflag&vIPv4 != 0:
		vchar = "4"
	}
	w.pad(p.name, 3, true, true) // "%-3.3s%-2.2s ": "ip" + "4" is "ip 4 "
	w.pad(vchar, 2, true, true)
	w.WriteByte(' ')
	if o.Listen {
		w.pad(fmt.Sprintf("%d/%d/%d", inp.qlen, inp.incq, inp.q), 32, true, true)
		w.WriteByte(' ')
	} else {
		w.pad(strconv.FormatUint(uint64(uint32(inp.rcv)), 10), 6, false, false)
		w.WriteByte(' ')
		w.pad(strconv.FormatUint(uint64(uint32(inp.snd)), 10), 6, false, false)
		w.WriteByte(' ')
		if o.Legacy {
			w.WriteByte(' ')
		}
	}
	// protopr: -n shows both ports numerically; an INP_ANONPORT
	// (ephemeral) local port is numeric and the foreign one named;
	// otherwise the foreign port is named only when equal to the local.
	lnum, fnum := true, true
	switch {
	case o.NumericPort:
	case inp.inpFlags&inpAnonport != 0:
		fnum = false
	default:
		lnum, fnum = false, inp.lport != inp.fport
	}
	if inp.vflag&vIPv4 != 0 {
		w.inetprint(inp.laddr4(), inp.lport, p.name, lnum)
		if !o.Listen {
			f := inp.faddr
			if !f.Is4() {
				b := f.As16()
				f = netip.AddrFrom4([4]byte(b[12:]))
			}
			w.inetprint(f, inp.fport, p.name, fnum)
		}
	} else if inp.vflag&vIPv6 != 0 {
		w.inet6print(inp.laddr, inp.lport, p.name, lnum)
		if !o.Listen {
			w.inet6print(inp.faddr, inp.fport, p.name, fnum)
		}
	}
	if istcp && !o.Listen {
		if inp.state < 0 || int(inp.state) >= len(tcpStates) {
			w.WriteString(strconv.Itoa(int(inp.state)))
		} else {
			w.WriteString(tcpStates[inp.state])
			if inp.tflags&(tfNeedSyn|tfNeedFin) != 0 {
				w.WriteByte('*')
			}
		}
	}
	w.WriteString("\n")
}

func (w *writer) service(port uint16, proto string, numeric bool) string {
	if numeric || port == 0 || w.o.Names == nil {
		return ""
	}
	return w.o.Names.Service(port, proto)
}

func (w *writer) trimdomain(name string) string {
	d := w.o.LocalDomain
	if d != "" && len(name) > len(d)+1 && strings.HasSuffix(name, "."+d) {
		return name[:len(name)-len(d)-1]
	}
	return name
}

// inetname is netstat's inetname(): "*" for INADDR_ANY, a host name
// unless -n, else the dotted quad.
func (w *writer) inetname(a netip.Addr) string {
	if a.IsUnspecified() {
		return "*"
	}
	if !w.o.NumericAddr && w.o.Names != nil {
		if n := w.o.Names.Host(a); n != "" {
			return w.trimdomain(n)
		}
	}
	return a.String()
}

func (w *writer) inetprint(a netip.Addr, port uint16, proto string, numeric bool) {
	o := w.o
	line := w.inetname(a)
	if !o.Wide {
		line = trunc(line, 16)
	}
	line += "."
	if sp := w.service(port, proto, numeric); sp != "" || port == 0 {
		if sp == "" {
			sp = "*"
		}
		line += trunc(sp, 15) + " "
	} else {
		line += strconv.Itoa(int(port)) + " "
	}
	line = trunc(line, 79) // netstat's char line[80]
	width := 22
	if o.Wide && o.Family != AFInet {
		width = 45
	}
	w.pad(line, width, true, !o.Wide)
	w.WriteByte(' ')
}

// inet6name is netstat's inet6name(): "*" for ::, a name unless -n,
// else inet_ntop's text.
func (w *writer) inet6name(a netip.Addr) string {
	if a.IsUnspecified() {
		return "*"
	}
	if !w.o.NumericAddr && w.o.Names != nil {
		if n := w.o.Names.Host(a); n != "" {
			return w.trimdomain(n)
		}
	}
	return ntop.IPv6(a)
}

func (w *writer) inet6print(a netip.Addr, port uint16, proto string, numeric bool) {
	o := w.o
	n := 16
	if o.Wide {
		n = 39
	}
	line := trunc(w.inet6name(a), n) + "."
	// GETSERVBYPORT6: tcp6/udp6 look up tcp/udp.
	sp := w.service(port, strings.TrimSuffix(proto, "6"), numeric)
	if sp != "" || port == 0 {
		if sp == "" {
			sp = "*"
		}
		line += trunc(sp, 15)
	} else {
		line += strconv.Itoa(int(port))
	}
	width := 22
	if o.Wide {
		width = 45
	}
	w.pad(line, width, true, true)
	w.WriteByte(' ')
}

var sockTypes = [...]string{"#0", "stream", "dgram", "raw", "rdm", "seqpacket"}

// unixpr prints the unix domain table: net.local.stream, .dgram, then
// .seqpacket, each in its kernel order.
func (w *writer) unixpr(socks []sock.Socket) {
	o := w.o
	fw := 16
	if o.PtrBits == 32 {
		fw = 8
	}
	first := true
	for _, typ := range []uint8{sock.TypeStream, sock.TypeDgram, sock.TypeSeqpacket} {
		for i := range socks {
			s := &socks[i]
			if s.Family != sock.FamilyUnix || s.UnixType != typ {
				continue
			}
			if first && !o.Listen {
				w.WriteString("Active UNIX domain sockets\n")
				w.pad("Address", fw, true, true)
				w.WriteByte(' ')
				w.pad("Type", 6, true, true)
				w.WriteByte(' ')
				w.pad("Recv-Q", 6, true, true)
				w.WriteByte(' ')
				w.pad("Send-Q", 6, true, true)
				for _, h := range []string{"Inode", "Conn", "Refs", "Nextref"} {
					w.WriteByte(' ')
					w.pad(h, fw, false, true)
				}
				w.WriteString(" Addr\n")
			}
			first = false
			var b sock.BSD
			if s.BSD != nil {
				b = *s.BSD
			} else {
				b.PCB, b.Conn = s.Inode, s.PeerInode
				if s.UnixFlags&sock.UnixFlagAcceptCon != 0 {
					b.QLen, b.QLimit = uint32(s.RecvQ), uint32(s.SendQ)
					if b.QLimit == 0 {
						b.QLimit = 1
					}
				}
			}
			if o.Listen {
				if b.QLimit == 0 {
					continue
				}
				w.WriteString("unix  ")
				w.pad(fmt.Sprintf("%d/%d/%d", b.QLen, b.IncQLen, b.QLimit), 32, true, true)
			} else {
				hex := func(v uint64) {
					w.pad(strconv.FormatUint(v, 16), fw, false, false)
				}
				hex(b.PCB)
				w.WriteByte(' ')
				t := "#0"
				if int(s.UnixType) < len(sockTypes) {
					t = sockTypes[s.UnixType]
				}
				w.pad(t, 6, true, true)
				w.WriteByte(' ')
				w.pad(strconv.FormatUint(uint64(uint32(s.RecvQ)), 10), 6, false, false)
				w.WriteByte(' ')
				w.pad(strconv.FormatUint(uint64(uint32(s.SendQ)), 10), 6, false, false)
				for _, v := range []uint64{b.Vnode, b.Conn, b.FirstRef, b.NextRef} {
					w.WriteByte(' ')
					hex(v)
				}
			}
			if s.Path != "" {
				w.WriteString(" " + s.Path)
			}
			w.WriteString("\n")
		}
	}
}
