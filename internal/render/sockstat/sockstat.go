package sockstat

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// FreeBSD's inp_vflag bits.
const (
	vflag4 = 0x1
	vflag6 = 0x2
)

// Column positions and widths of sockstat's display() and displaysock().
const (
	colCommand = 9
	colPID     = 20
	colFD      = 26
	colProto   = 30
	colAddr    = 37
)

// tcpStates are FreeBSD's tcpstates[] names, by TCPS_* number.
var tcpStates = [...]string{
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT",
	"FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT",
}

// linuxToBSDState maps Linux TCP states to FreeBSD's TCPS_* numbers.
var linuxToBSDState = map[sock.State]int{
	sock.StateEstablished:   4,
	sock.StateSynSent:       2,
	sock.StateSynRecv:       3,
	sock.StateFinWait1:      6,
	sock.StateFinWait2:      9,
	sock.StateTimeWait:      10,
	sock.StateClose:         0,
	sock.StateCloseWait:     5,
	sock.StateLastAck:       8,
	sock.StateListen:        1,
	sock.StateClosing:       7,
	sock.StateNewSynRecv:    3,
	sock.StateBoundInactive: 0,
}

// UserLookup maps a uid to a user name.
type UserLookup func(uid uint32) (string, bool)

// entry is one gathered socket, with what sockstat derives from it.
type entry struct {
	s      *sock.Socket
	vflag  uint8
	proto  string // tcp, udp, stream, dgram, seqpac
	local  netip.AddrPort
	remote netip.AddrPort
	owners []sock.Owner // kern.file order: newest (highest) pid first, then fd
	shown  bool
}

// Row is one output line's data, for --json.
type Row struct {
	User    string  `json:"user,omitempty"`
	UID     *uint32 `json:"uid,omitempty"`
	Command string  `json:"command,omitempty"`
	PID     *int32  `json:"pid,omitempty"`
	FD      *int32  `json:"fd,omitempty"`
	Proto   string  `json:"proto"`
	Local   string  `json:"local"`
	Foreign string  `json:"foreign"`
	State   string  `json:"state,omitempty"`
	Inode   uint64  `json:"inode,omitempty"`
}

type renderer struct {
	o     Options
	users UserLookup
	all   []*entry
	// byInode finds unix peers on Linux, byPCB on FreeBSD.
	byInode map[uint64]*entry
	byPCB   map[uint64]*entry
	// refs are the datagram sockets connected to an inode, gathered or
	// not, newest first (FreeBSD's unp_refs list).
	refs map[uint64][]*sock.Socket
}

// Render writes sockstat's listing of socks to w.
func Render(w io.Writer, socks []sock.Socket, o Options, users UserLookup) error {
	r := newRenderer(socks, o, users)
	bw := bufio.NewWriter(w)
	if o.JSON {
		rows := r.rows()
		if rows == nil {
			rows = []Row{}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
		return bw.Flush()
	}
	if !o.Quiet {
		bw.WriteString(r.header())
	}
	r.each(func(e *entry, ow *sock.Owner, line string, _ Row) { bw.WriteString(line) })
	return bw.Flush()
}

func newRenderer(socks []sock.Socket, o Options, users UserLookup) *renderer {
	r := &renderer{o: o, users: users, byInode: map[uint64]*entry{}, byPCB: map[uint64]*entry{}, refs: map[uint64][]*sock.Socket{}}
	wantProto := func(p int) bool { return slices.Contains(o.Protos, p) }
	var want uint8
	if o.IPv4 {
		want |= vflag4
	}
	if o.IPv6 {
		want |= vflag6
	}
	for i := range socks {
		s := &socks[i]
		e := &entry{s: s, local: s.Local, remote: s.Remote}
		switch s.Proto {
		case sock.ProtoTCP, sock.ProtoUDP:
			if s.Proto == sock.ProtoTCP && !wantProto(ProtoTCP) || s.Proto == sock.ProtoUDP && !wantProto(ProtoUDP) {
				continue
			}
			if !o.IPv4 && !o.IPv6 {
				continue
			}
			// Linux lists half-open connections (request sockets) in
			// /proc/net/tcp; FreeBSD keeps them in the syncache, outside
			// the pcblist sockstat reads.
			if s.Proto == sock.ProtoTCP && s.BSD == nil && s.Inode == 0 &&
				(s.State == sock.StateSynRecv || s.State == sock.StateNewSynRecv) {
				continue
			}
			e.proto = s.Proto.String()
			e.vflag = inetVFlag(s)
			if e.vflag&vflag4 != 0 && s.Family == sock.FamilyInet6 && e.vflag&vflag6 == 0 {
				// A v4-mapped connection: FreeBSD keeps it as an IPv4 pcb.
				e.local = netip.AddrPortFrom(s.Local.Addr().Unmap(), s.Local.Port())
				e.remote = netip.AddrPortFrom(s.Remote.Addr().Unmap(), s.Remote.Port())
			}
			if e.vflag&want == 0 {
				continue
			}
			fport := e.remote.Port()
			if fport == 0 && !o.Listening || fport != 0 && !o.Connected {
				continue
			}
			if o.NoLoopback {
				if e.vflag&vflag4 != 0 && e.vflag&vflag6 == 0 || s.Family == sock.FamilyInet {
					if loop4(e.local.Addr()) || loop4(e.remote.Addr()) {
						continue
					}
				} else if e.local.Addr() == netip.IPv6Loopback() || e.remote.Addr() == netip.IPv6Loopback() {
					continue
				}
			}
		case sock.ProtoUnix:
			if !o.Unix {
				continue
			}
			switch s.UnixType {
			case sock.TypeStream:
				e.proto = "stream"
			case sock.TypeDgram:
				e.proto = "dgram"
			case sock.TypeSeqpacket:
				e.proto = "seqpac"
			default:
				continue
			}
			connected := s.PeerInode != 0
			if s.BSD != nil {
				connected = s.BSD.Conn != 0
			}
			if !connected && !o.Listening || connected && !o.Connected {
				continue
			}
		default:
			continue
		}
		e.owners = append([]sock.Owner(nil), s.Owners...)
		slices.SortFunc(e.owners, func(a, b sock.Owner) int {
			if a.PID != b.PID {
				return int(b.PID) - int(a.PID)
			}
			return int(a.FD) - int(b.FD)
		})
		r.all = append(r.all, e)
		if s.Proto == sock.ProtoUnix {
			if s.Inode != 0 {
				r.byInode[s.Inode] = e
			}
			if s.BSD != nil && s.BSD.PCB != 0 {
				r.byPCB[s.BSD.PCB] = e
			}
		}
	}
	for i := range socks {
		s := &socks[i]
		if s.Proto == sock.ProtoUnix && s.BSD == nil && s.UnixType == sock.TypeDgram && s.PeerInode != 0 {
			r.refs[s.PeerInode] = append(r.refs[s.PeerInode], s)
		}
	}
	for k, l := range r.refs {
		slices.SortFunc(l, func(a, b *sock.Socket) int { return cmpU64(b.Inode, a.Inode) })
		r.refs[k] = l
	}
	return r
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func loop4(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 127 }

// inetVFlag is FreeBSD's inp_vflag for a Linux socket: an IPv6 socket
// bound to the wildcard without IPV6_V6ONLY also serves IPv4 ("tcp46");
// one carrying v4-mapped addresses is an IPv4 connection.
func inetVFlag(s *sock.Socket) uint8 {
	if s.BSD != nil && s.BSD.VFlag&(vflag4|vflag6) != 0 {
		return s.BSD.VFlag & (vflag4 | vflag6)
	}
	if s.Family == sock.FamilyInet {
		return vflag4
	}
	l := s.Local.Addr()
	if l.Is4In6() {
		return vflag4
	}
	if l.IsUnspecified() && !s.V6Only && s.Remote.Port() == 0 {
		return vflag4 | vflag6
	}
	return vflag6
}

func (r *renderer) checkPorts(e *entry) bool {
	if r.o.Ports == nil || e.s.Proto == sock.ProtoUnix {
		return true
	}
	return r.o.portWanted(e.local.Port()) || r.o.portWanted(e.remote.Port())
}

func (r *renderer) header() string {
	aw := 21
	if r.o.Wide {
		aw = 45
	}
	h := fmt.Sprintf("%-8s %-10s %-5s %-3s %-6s %-*s %-*s", "USER", "COMMAND", "PID", "FD", "PROTO",
		aw, "LOCAL ADDRESS", aw, "FOREIGN ADDRESS")
	if r.o.ID {
		h += fmt.Sprintf(" %-8s", "ID")
	}
	if r.o.Encaps {
		h += fmt.Sprintf(" %-6s", "ENCAPS")
	}
	if r.o.State {
		h += fmt.Sprintf(" %-12s", "PATH STATE")
		h += fmt.Sprintf(" %-12s", "CONN STATE")
	}
	if r.o.Stack {
		h += fmt.Sprintf(" %-32.32s", "STACK")
	}
	if r.o.CC {
		h += " CC"
	}
	return h + "\n"
}

// each produces the lines in sockstat's order: every (process, fd)
// holding a gathered socket, newest process first, then the gathered
// sockets nobody holds (TIME_WAIT first).
func (r *renderer) each(fn func(e *entry, ow *sock.Owner, line string, row Row)) {
	type hold struct {
		e  *entry
		ow sock.Owner
	}
	var holds []hold
	for _, e := range r.all {
		for _, ow := range e.owners {
			holds = append(holds, hold{e, ow})
		}
	}
	// (pid, fd) pairs are unique: no stable sort needed.
	slices.SortFunc(holds, func(a, b hold) int {
		if a.ow.PID != b.ow.PID {
			return int(b.ow.PID) - int(a.ow.PID)
		}
		return int(a.ow.FD) - int(b.ow.FD)
	})
	for _, h := range holds {
		if !r.checkPorts(h.e) {
			continue
		}
		h.e.shown = true
		var b strings.Builder
		user := strconv.FormatUint(uint64(h.e.s.UID), 10)
		if !r.o.Numeric && r.users != nil {
			if n, ok := r.users(h.e.s.UID); ok {
				user = n
			}
		}
		// FreeBSD 14's display(): "%s " then pad to 9, "%.10s" pad to
		// 20, "%5lu " pad to 26, "%-3d " (displaysock pads to 30).
		b.WriteString(user)
		b.WriteByte(' ')
		padTo(&b, colCommand)
		comm := h.ow.Comm
		if len(comm) > 10 {
			comm = comm[:10]
		}
		b.WriteString(comm)
		padTo(&b, colPID)
		fmt.Fprintf(&b, "%5d ", h.ow.PID)
		padTo(&b, colFD)
		fmt.Fprintf(&b, "%-3d ", h.ow.FD)
		row := Row{User: user, UID: ptr(h.e.s.UID), Command: comm, PID: ptr(h.ow.PID), FD: ptr(h.ow.FD)}
		ow := h.ow
		fn(h.e, &ow, r.displaySock(&b, h.e, &row), row)
	}
	var unheld, timewait []*entry
	for _, e := range r.all {
		if e.shown || !r.checkPorts(e) {
			continue
		}
		nosock := e.s.Inode == 0
		if e.s.BSD != nil {
			nosock = e.s.BSD.Socket == 0
		}
		if nosock && e.s.Proto != sock.ProtoUnix {
			timewait = append(timewait, e)
		} else {
			unheld = append(unheld, e)
		}
	}
	slices.Reverse(timewait)
	slices.SortStableFunc(unheld, func(a, b *entry) int { return cmpU64(a.s.Inode, b.s.Inode) })
	for _, e := range append(timewait, unheld...) {
		var b strings.Builder
		fmt.Fprintf(&b, "%-8s %-10s %-5s %-2s ", "?", "?", "?", "?")
		row := Row{}
		fn(e, nil, r.displaySock(&b, e, &row), row)
	}
}

func ptr[T any](v T) *T { return &v }

// padTo appends spaces up to column col (sockstat's "while (pos < n)").
func padTo(b *strings.Builder, col int) {
	for b.Len() < col {
		b.WriteByte(' ')
	}
}

// addr is sockstat's printaddr for inet: "*" for the wildcard, ":*" for
// port 0, no brackets around IPv6.
func addr(ap netip.AddrPort) string {
	a := ap.Addr()
	host := "*"
	if a.IsValid() && !a.IsUnspecified() {
		host = a.WithZone("").String()
		if a.Zone() != "" {
			host += "%" + a.Zone()
		}
	}
	if ap.Port() == 0 {
		return host + ":*"
	}
	return host + ":" + strconv.Itoa(int(ap.Port()))
}

// holder is the "[pid fd]" of a socket: its first file in kern.file order.
func holder(e *entry) (string, bool) {
	if len(e.owners) == 0 {
		return "", false
	}
	return fmt.Sprintf("[%d %d]", e.owners[0].PID, e.owners[0].FD), true
}

// displaySock renders the PROTO column onwards and returns the line.
func (r *renderer) displaySock(b *strings.Builder, e *entry, row *Row) string {
	s := e.s
	padTo(b, colProto)
	proto := e.proto
	if e.vflag&vflag4 != 0 {
		proto += "4"
	}
	if e.vflag&vflag6 != 0 {
		proto += "6"
	}
	b.WriteString(proto)
	if e.vflag != 0 {
		b.WriteByte(' ')
	}
	row.Proto = proto
	row.Inode = s.Inode
	aw, uw := 22, 44
	if r.o.Wide {
		aw, uw = 46, 92
	}
	offset := colAddr
	padTo(b, offset)
	if s.Proto == sock.ProtoUnix {
		r.unixAddr(b, e, row)
		offset += uw
	} else {
		l := addr(e.local)
		b.WriteString(l)
		// sockstat forces a space only after a long IPv6 local address.
		if e.vflag&vflag6 != 0 && b.Len() >= 58 {
			b.WriteByte(' ')
		}
		offset += aw
		padTo(b, offset)
		f := addr(e.remote)
		b.WriteString(f)
		offset += aw
		row.Local, row.Foreign = l, f
	}
	isTCP := s.Proto == sock.ProtoTCP
	if r.o.ID {
		if isTCP || s.Proto == sock.ProtoUDP {
			padTo(b, offset)
			b.WriteString(strconv.FormatUint(s.Inode, 10))
		}
		offset += 9
	}
	st := -1
	if isTCP {
		st = bsdState(s)
		if st >= 0 && st < len(tcpStates) {
			row.State = tcpStates[st]
		} else {
			row.State = "?"
		}
	}
	if r.o.Encaps {
		if isTCP && st != 0 && st != 1 {
			padTo(b, offset)
			b.WriteString("0")
		}
		offset += 7
	}
	if r.o.State {
		offset += 13 // PATH STATE: SCTP only
		if isTCP {
			padTo(b, offset)
			b.WriteString(row.State)
		}
		offset += 13
	}
	if r.o.Stack {
		if isTCP {
			padTo(b, offset)
		}
		offset += 33
	}
	if r.o.CC && isTCP {
		padTo(b, offset)
	}
	b.WriteByte('\n')
	return b.String()
}

func bsdState(s *sock.Socket) int {
	if s.BSD != nil {
		return int(s.BSD.TCPState)
	}
	if v, ok := linuxToBSDState[s.State]; ok {
		return v
	}
	return -1
}

// unixAddr renders a unix socket's address part: its bound path, "->"
// and the peer's path or "[pid fd]", " <- " and the datagram sockets
// connected to it, or "(not connected)".
func (r *renderer) unixAddr(b *strings.Builder, e *entry, row *Row) {
	s := e.s
	path := s.Path
	var connected bool
	var peer *entry
	var refs []*entry
	refsStart := false
	if s.BSD != nil {
		connected = s.BSD.Conn != 0
		if connected {
			peer = r.byPCB[s.BSD.Conn]
		}
		if s.BSD.FirstRef != 0 {
			refsStart = true
			for ref, n := s.BSD.FirstRef, 0; n < 1<<16; n++ {
				p := r.byPCB[ref]
				if p == nil {
					break
				}
				refs = append(refs, p)
				ref = p.s.BSD.NextRef
			}
		}
	} else {
		connected = s.PeerInode != 0
		if connected {
			peer = r.byInode[s.PeerInode]
		}
		if l := r.refs[s.Inode]; len(l) > 0 {
			refsStart = true
			// sockstat walks the list until a socket it did not gather.
			for _, x := range l {
				p := r.byInode[x.Inode]
				if p == nil {
					break
				}
				refs = append(refs, p)
			}
		}
	}
	if path == "" && !connected {
		b.WriteString("(not connected)")
		row.Local = ""
		row.Foreign = "(not connected)"
		return
	}
	b.WriteString(path)
	row.Local = path
	start := b.Len()
	if connected {
		if path != "" {
			b.WriteByte(' ')
		}
		b.WriteString("-> ")
		switch {
		case peer == nil:
			b.WriteString("??")
		case peer.s.Path == "":
			if h, ok := holder(peer); ok {
				b.WriteString(h)
			}
		default:
			b.WriteString(peer.s.Path)
		}
	}
	if refsStart {
		b.WriteString(" <- ")
		for i, p := range refs {
			if h, ok := holder(p); ok {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(h)
			}
		}
	}
	row.Foreign = strings.TrimSpace(b.String()[start:])
}

func (r *renderer) rows() []Row {
	var out []Row
	r.each(func(e *entry, ow *sock.Owner, line string, row Row) { out = append(out, row) })
	return out
}
