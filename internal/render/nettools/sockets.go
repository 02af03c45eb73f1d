package nettools

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// Flags are net-tools netstat's option globals after its own
// normalisation (see Normalize): the renderer follows the same control
// flow over them.
type Flags struct {
	All, Listening bool
	NumHosts       bool // --numeric-hosts or -n
	NumPorts       bool // --numeric-ports or -n
	NumUsers       bool // --numeric-users or -n
	Wide           bool
	Extend         int // flag_exp: 1 + the number of -e
	Programs       bool
	Timers         bool
	Verbose        bool
	Continuous     bool
	TCP, SCTP, UDP bool
	UDPLite, Raw   bool
	Groups         bool
	Inet, Inet6    bool // from -4, -6, -A, --inet...
	Unix           bool
	IPX, AX25, X25 bool
	NetROM, Rose   bool
	Bluetooth      bool
	L2CAP, RFCOMM  bool
	NoProt         bool // flag_noprot: protocols were implied by a family
	Arg            int  // flag_arg: how many socket kinds were asked for
	EUID           int  // for the -p warning
	ClockTicks     int64
}

// Normalize applies netstat's post-parse rules: a family without a
// protocol selects all of its protocols, a protocol without a family
// selects both inet families, and counts flag_arg.
func (f *Flags) Normalize(statistics bool) {
	if (f.Inet || f.Inet6 || statistics) && !(f.TCP || f.SCTP || f.UDP || f.UDPLite || f.Raw) {
		f.NoProt, f.TCP, f.SCTP, f.UDP, f.UDPLite, f.Raw = true, true, true, true, true, true
	}
	if (f.TCP || f.SCTP || f.UDP || f.UDPLite || f.Raw || f.Groups) && !(f.Inet || f.Inet6) {
		f.Inet, f.Inet6 = true, true
	}
	if f.Bluetooth && !(f.L2CAP || f.RFCOMM) {
		f.L2CAP, f.RFCOMM = true, true
	}
	f.Arg = 0
	for _, b := range []bool{f.TCP, f.SCTP, f.UDPLite, f.UDP, f.Raw, f.Unix, f.IPX, f.AX25, f.NetROM, f.Groups, f.X25, f.Rose, f.L2CAP, f.RFCOMM} {
		if b {
			f.Arg++
		}
	}
}

// Wants returns the protocols and families a listing with f reads, so a
// caller can snapshot no more than it prints.
func (f *Flags) Wants() (protos []sock.Proto, fams []sock.Family) {
	any := f.Arg == 0
	protos = []sock.Proto{} // non-nil: none unless added (e.g. -g alone)
	for _, w := range []struct {
		on bool
		p  sock.Proto
	}{{f.TCP, sock.ProtoTCP}, {f.UDP, sock.ProtoUDP}, {f.UDPLite, sock.ProtoUDPLite}, {f.Raw, sock.ProtoRaw}, {f.Unix, sock.ProtoUnix}} {
		if any || w.on {
			protos = append(protos, w.p)
		}
	}
	if any || f.Inet {
		fams = append(fams, sock.FamilyInet)
	}
	if any || f.Inet6 {
		fams = append(fams, sock.FamilyInet6)
	}
	fams = append(fams, sock.FamilyUnix)
	return protos, fams
}

type renderer struct {
	*Flags
	w        *bufio.Writer
	ew       io.Writer
	names    Namer
	numHosts bool
	numPorts bool
	wide     bool
	progs    map[int32]progText
	buf      []byte // line scratch
	hosts    map[netip.Addr]string
	ports    map[portKey]string
	lastAddr netip.Addr // hostString's one-entry memo
	lastHost string
	local    []byte // inetLine scratch
	remote   []byte
	port     []byte
}

// Listing prints one socket listing (netstat's main loop body without
// -i/-r/-s/-M) and returns netstat's exit status. groups, when f.Groups
// is set, prints the multicast table and returns its status.
func Listing(w, ew io.Writer, f *Flags, res *snapshot.Result, names Namer, groups func() int) int {
	r := &renderer{Flags: f, w: bufio.NewWriterSize(w, 64<<10), ew: ew, names: names,
		numHosts: f.NumHosts, numPorts: f.NumPorts, wide: f.Wide}
	defer r.w.Flush()
	if f.ClockTicks == 0 {
		f.ClockTicks = 100
	}
	any := f.Arg == 0
	byTable := map[string][]*sock.Socket{}
	for i := range res.Sockets {
		s := &res.Sockets[i]
		byTable[tableOf(s)] = append(byTable[tableOf(s)], s)
	}
	warned := map[string]bool{}
	warn := func(t string) {
		if warned[t] {
			return
		}
		warned[t] = true
		r.w.Flush()
		for _, wr := range res.Warnings {
			if wr.Table == t {
				fmt.Fprintln(ew, wr.Text)
			}
		}
	}
	// missing is INFO_GUTS1: a table the kernel lacks.
	missing := func(name string) int {
		r.w.Flush()
		if !f.NoProt && (f.Arg > 0 || f.Verbose) {
			fmt.Fprintf(ew, "netstat: no support for `%s' on this system.\n", name)
		}
		if !f.NoProt && f.Arg > 0 {
			return 1
		}
		return 0
	}
	inet := func(t4, t6, name string, proto sock.Proto) int {
		if any || f.Inet {
			if !res.Has(t4) {
				if rc := missing(name); rc != 0 {
					return rc
				}
			} else {
				warn(t4)
				r.inetLines(byTable[t4], t4)
			}
		}
		if (any || f.Inet6) && res.Has(t6) {
			warn(t6)
			r.inetLines(byTable[t6], t6)
		}
		return 0
	}
	// netstat loads its program cache (and warns about unreadable
	// processes) only on its way into the Internet or the unix listing:
	// -p with --ipx or -g alone says nothing.
	if f.Programs && (any || f.TCP || f.SCTP || f.UDP || f.UDPLite || f.Raw || f.Unix) {
		r.loadPrograms(res)
	}
	if any || f.TCP || f.SCTP || f.UDP || f.UDPLite || f.Raw {
		fmt.Fprint(r.w, "Active Internet connections ")
		r.w.WriteString(serversNote(f))
		r.w.WriteString("\nProto Recv-Q Send-Q Local Address           Foreign Address         State      ")
		if f.Extend > 1 {
			r.w.WriteString(" User       Inode     ")
		}
		if f.Programs {
			fmt.Fprintf(r.w, " %-20s", "PID/Program name")
		}
		if f.Timers {
			r.w.WriteString(" Timer")
		}
		r.w.WriteString("\n")
	}
	if any || f.TCP {
		if rc := inet("tcp", "tcp6", "AF INET (tcp)", sock.ProtoTCP); rc != 0 {
			return rc
		}
	}
	if any || f.SCTP {
		// bpfstat does not list SCTP associations; where the kernel has
		// SCTP loaded this section stays empty.
		// netstat reads the endpoints (listeners) with -a or -l and the
		// associations without -l, saying twice that SCTP is missing.
		if (any || f.Inet) && !res.Has("sctp") {
			if f.All || f.Listening {
				if rc := missing("AF INET (sctp)"); rc != 0 {
					return rc
				}
			}
			if f.All || !f.Listening {
				if rc := missing("AF INET (sctp)"); rc != 0 {
					return rc
				}
			}
		}
	}
	if any || f.UDP {
		if rc := inet("udp", "udp6", "AF INET (udp)", sock.ProtoUDP); rc != 0 {
			return rc
		}
	}
	if any || f.UDPLite {
		if rc := inet("udplite", "udplite6", "AF INET (udplite)", sock.ProtoUDPLite); rc != 0 {
			return rc
		}
	}
	if any || f.Raw {
		if rc := inet("raw", "raw6", "AF INET (raw)", sock.ProtoRaw); rc != 0 {
			return rc
		}
	}
	if f.Groups {
		r.w.WriteString("IPv6/IPv4 Group Memberships\n")
		r.w.WriteString("Interface       RefCnt Group\n")
		r.w.WriteString("--------------- ------ ---------------------\n")
		if groups != nil {
			r.w.Flush()
			if rc := groups(); rc != 0 {
				return rc
			}
		}
	}
	if any || f.Unix {
		if !res.Has("unix") {
			if rc := missing("AF UNIX"); rc != 0 {
				return rc
			}
		} else {
			r.unixHeader()
			warn("unix")
			for _, s := range byTable["unix"] {
				r.unixLine(s)
			}
		}
	}
	for _, x := range []struct {
		table, name string
		on          bool
	}{
		{"ipx", "AF IPX", f.IPX}, {"ax25", "AF AX25", f.AX25}, {"x25", "AF X25", f.X25},
		{"netrom", "AF NETROM", f.NetROM}, {"rose", "AF ROSE", f.Rose},
	} {
		if (any || x.on) && !res.Has(x.table) {
			r.w.Flush()
			if f.Arg > 0 || f.Verbose {
				fmt.Fprintf(ew, "netstat: no support for `%s' on this system.\n", x.name)
			}
			if f.Arg > 0 {
				return 1
			}
		}
	}
	if f.Arg > 0 && (f.L2CAP || f.RFCOMM) {
		r.w.Flush()
		fmt.Fprint(ew, "netstat: feature `AF BLUETOOTH' not supported.\nPlease recompile `net-tools' with newer kernel source or full configuration.\n")
		return 1
	}
	return 0
}

func serversNote(f *Flags) string {
	switch {
	case f.All:
		return "(servers and established)"
	case f.Listening:
		return "(only servers)"
	}
	return "(w/o servers)"
}

func tableOf(s *sock.Socket) string {
	t := ""
	switch s.Proto {
	case sock.ProtoTCP:
		t = "tcp"
	case sock.ProtoUDP:
		t = "udp"
	case sock.ProtoUDPLite:
		t = "udplite"
	case sock.ProtoRaw:
		t = "raw"
	case sock.ProtoUnix:
		return "unix"
	}
	if s.Family == sock.FamilyInet6 {
		t += "6"
	}
	return t
}

// loadPrograms is where netstat loads its inode -> "PID/Program" cache
// and warns about processes it could not read. The cache is the sockets'
// own Owners here (see progOf), so only the warning is left to print.
func (r *renderer) loadPrograms(res *snapshot.Result) {
	r.progs = make(map[int32]progText)
	if !res.OwnersDenied {
		return
	}
	r.w.Flush()
	if res.OwnersSeen == 0 {
		fmt.Fprintf(r.ew, "(No info could be read for \"-p\": geteuid()=%d but you should be root.)\n", r.EUID)
		return
	}
	fmt.Fprint(r.ew, "(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)\n")
}

// progText is one process's "PID/Program" column, cut to 19 bytes.
type progText struct{ program, text string }

// progOf is netstat's program cache lookup for socket s: its first holder
// in /proc order (lowest pid), "PID/Program" cut to 19 bytes, or "-".
// Sockets have distinct inodes, so the socket's own Owners are what an
// inode-keyed cache would find; texts are memoised per process.
func (r *renderer) progOf(s *sock.Socket) string {
	if s.Inode == 0 || len(s.Owners) == 0 {
		return "-"
	}
	o := &s.Owners[0]
	if p, ok := r.progs[o.PID]; ok && p.program == o.Program {
		return p.text
	}
	t := clip(strconv.Itoa(int(o.PID))+"/"+o.Program, 19)
	if r.progs == nil {
		r.progs = make(map[int32]progText)
	}
	r.progs[o.PID] = progText{o.Program, t}
	return t
}

// parallelFrom is the table size from which inetLines renders on two
// goroutines.
var parallelFrom = 20000

// inetLines renders a table's lines. A big table whose lines need no name
// look-ups (the Namer need not be safe for concurrent use) is rendered in
// two halves at once, the second into a buffer written after the first.
func (r *renderer) inetLines(socks []*sock.Socket, table string) {
	if len(socks) < parallelFrom || !r.numHosts || !r.numPorts || (r.Extend > 1 && !r.NumUsers) {
		for _, s := range socks {
			r.inetLine(s, table)
		}
		return
	}
	half := len(socks) / 2
	var tail bytes.Buffer
	tail.Grow((len(socks) - half) * 128)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &renderer{Flags: r.Flags, w: bufio.NewWriterSize(&tail, 64<<10), ew: r.ew, names: r.names,
			numHosts: r.numHosts, numPorts: r.numPorts, wide: r.wide, progs: make(map[int32]progText)}
		for _, s := range socks[half:] {
			c.inetLine(s, table)
		}
		c.w.Flush()
	}()
	for _, s := range socks[:half] {
		r.inetLine(s, table)
	}
	<-done
	r.w.Write(tail.Bytes())
}

func (r *renderer) inetLine(s *sock.Socket, table string) {
	prot := table
	switch s.Proto {
	case sock.ProtoUDPLite:
		prot = "udpl"
		if s.Family == sock.FamilyInet6 {
			prot = "udpl6"
		}
	}
	remoteSet := s.Remote.Addr().IsValid() && !s.Remote.Addr().IsUnspecified()
	if !r.All {
		var keep bool
		if s.Proto == sock.ProtoTCP {
			keep = (r.Listening && s.Remote.Port() == 0) || (!r.Listening && s.Remote.Port() != 0)
		} else {
			keep = (remoteSet && !r.Listening) || (!remoteSet && r.Listening)
		}
		if !keep {
			return
		}
	}
	svc := "udp"
	switch s.Proto {
	case sock.ProtoTCP:
		svc = "tcp"
	case sock.ProtoRaw:
		svc = "raw"
	}
	r.local = r.appendAddrPort(r.local[:0], s.Local, svc)
	r.remote = r.appendAddrPort(r.remote[:0], s.Remote, svc)
	local, remote := r.local, r.remote
	var timers string
	if r.Timers {
		timers = r.timerString(s)
	}
	switch s.Proto {
	case sock.ProtoTCP:
		state := "UNKNOWN"
		if s.State <= sock.StateClosing {
			state = tcpStateName(s.State)
		}
		r.inetRow(prot, 4, "  ", s, local, remote, state) // "%-4s  %6ld %6ld %-*s %-*s %-11s"
	case sock.ProtoRaw:
		// "%-4s  %6ld %6ld %-23s %-23s %-11d": raw prints the state number.
		r.inetRow(prot, 4, "  ", s, local, remote, strconv.Itoa(int(int32(s.State))))
	default:
		state := "UNKNOWN"
		switch s.State {
		case sock.StateEstablished:
			state = "ESTABLISHED"
		case sock.StateClose:
			state = ""
		}
		r.inetRow(prot, 5, " ", s, local, remote, state) // "%-5s %6ld %6ld %-23s %-23s %-11s"
	}
	r.finish(s, timers)
}

// inetRow writes the columns tcp_do_one, udp_do_one and raw_do_one share:
// the protocol left-justified in protWidth and followed by gap, the two
// queues in 6, the addresses in at least 23 (never cut: -W may make
// them longer) and the state in 11.
func (r *renderer) inetRow(prot string, protWidth int, gap string, s *sock.Socket, local, remote []byte, state string) {
	b := r.buf[:0]
	b = padRight(b, prot, protWidth)
	b = append(b, gap...)
	b = padLeftInt(b, int64(s.RecvQ), 6)
	b = append(b, ' ')
	b = padLeftInt(b, int64(s.SendQ), 6)
	b = append(b, ' ')
	b = padRight(b, local, 23)
	b = append(b, ' ')
	b = padRight(b, remote, 23)
	b = append(b, ' ')
	b = padRight(b, state, 11)
	r.buf = b
	r.w.Write(b)
}

func tcpStateName(s sock.State) string {
	if s == 0 {
		return ""
	}
	return s.String()
}

func (r *renderer) timerString(s *sock.Socket) string {
	t := s.Timer
	retr := t.Retrans
	if s.Proto != sock.ProtoTCP {
		retr = 0 // udp_do_one zeroes it; raw prints what it read
		if s.Proto == sock.ProtoRaw {
			retr = t.Retrans
		}
	}
	ticks := float64(int64(t.Ticks))
	div := float64(100)
	if s.Proto == sock.ProtoTCP {
		div = float64(r.ClockTicks)
	}
	secs := ticks / div
	if s.Proto == sock.ProtoTCP {
		switch t.Kind {
		case 0:
			return fmt.Sprintf("off (0.00/%d/%d)", int64(retr), int32(t.Timeout))
		case 1:
			return fmt.Sprintf("on (%2.2f/%d/%d)", secs, int64(retr), int32(t.Timeout))
		case 2:
			return fmt.Sprintf("keepalive (%2.2f/%d/%d)", secs, int64(retr), int32(t.Timeout))
		case 3:
			return fmt.Sprintf("timewait (%2.2f/%d/%d)", secs, int64(retr), int32(t.Timeout))
		case 4:
			return fmt.Sprintf("probe (%2.2f/%d/%d)", secs, int64(retr), int32(t.Timeout))
		}
		return fmt.Sprintf("unkn-%d (%2.2f/%d/%d)", int32(t.Kind), secs, int64(retr), int32(t.Timeout))
	}
	switch t.Kind {
	case 0:
		return fmt.Sprintf("off (0.00/%d/%d)", int64(retr), int32(t.Timeout))
	case 1, 2:
		return fmt.Sprintf("on%d (%2.2f/%d/%d)", t.Kind, secs, int64(retr), int32(t.Timeout))
	}
	return fmt.Sprintf("unkn-%d (%2.2f/%d/%d)", int32(t.Kind), secs, int64(retr), int32(t.Timeout))
}

// finish is net-tools' finish_this_one.
func (r *renderer) finish(s *sock.Socket, timers string) {
	uid, inode := s.UID, s.Inode
	if r.Extend > 1 {
		if n := r.names.User(uid); !r.NumUsers && n != "" {
			fmt.Fprintf(r.w, " %-10s ", n)
		} else {
			fmt.Fprintf(r.w, " %-10d ", int32(uid))
		}
		fmt.Fprintf(r.w, "%-10d", inode)
	}
	if r.Programs {
		r.buf = padRight(append(r.buf[:0], ' '), r.progOf(s), 20)
		r.w.Write(r.buf)
	}
	if r.Timers {
		r.w.WriteByte(' ')
		r.w.WriteString(timers)
	}
	r.w.WriteByte('\n')
}

// padRight appends s left-justified in a field of width w (printf %-*s).
func padRight[T string | []byte](b []byte, s T, w int) []byte {
	b = append(b, s...)
	for i := len(s); i < w; i++ {
		b = append(b, ' ')
	}
	return b
}

// padLeftInt appends v right-justified in a field of width w (%*ld).
func padLeftInt(b []byte, v int64, w int) []byte {
	var tmp [24]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(d); i < w; i++ {
		b = append(b, ' ')
	}
	return append(b, d...)
}

func (r *renderer) unixHeader() {
	r.w.WriteString("Active UNIX domain sockets ")
	r.w.WriteString(serversNote(r.Flags))
	r.w.WriteString("\nProto RefCnt Flags       Type       State         I-Node  ")
	if r.Programs {
		fmt.Fprintf(r.w, " %-20s", "PID/Program name")
	}
	r.w.WriteString(" Path\n")
}

var unixTypes = map[uint8]string{
	sock.TypeStream: "STREAM", sock.TypeDgram: "DGRAM", sock.TypeRaw: "RAW",
	sock.TypeRDM: "RDM", sock.TypeSeqpacket: "SEQPACKET",
}

func (r *renderer) unixLine(s *sock.Socket) {
	listening := s.State == sock.UnixUnconnected && s.UnixFlags&sock.UnixFlagAcceptCon != 0
	if !r.All && listening != r.Listening {
		return
	}
	proto := "unix"
	if s.UnixProto != 0 {
		proto = "??"
	}
	typ, ok := unixTypes[s.UnixType]
	if !ok {
		typ = "UNKNOWN"
	}
	var state string
	switch s.State {
	case sock.UnixFree:
		state = "FREE"
	case sock.UnixUnconnected:
		if s.UnixFlags&sock.UnixFlagAcceptCon != 0 {
			state = "LISTENING"
		}
	case sock.UnixConnecting:
		state = "CONNECTING"
	case sock.UnixConnected:
		state = "CONNECTED"
	case sock.UnixDisconnecting:
		state = "DISCONNECTING"
	default:
		state = "UNKNOWN"
	}
	flags := "[ "
	if s.UnixFlags&sock.UnixFlagAcceptCon != 0 {
		flags += "ACC "
	}
	if s.UnixFlags&sock.UnixFlagWaitData != 0 {
		flags += "W "
	}
	if s.UnixFlags&sock.UnixFlagNoSpace != 0 {
		flags += "N "
	}
	flags += "]"
	fmt.Fprintf(r.w, "%-5s %-6d %-11s %-10s %-13s ", proto, int64(s.RefCnt), flags, typ, state)
	path := s.Path
	if s.NoInode {
		r.w.WriteString("-       ")
		path = strconv.FormatUint(s.Inode, 10)
	} else {
		fmt.Fprintf(r.w, "%-8d", s.Inode)
	}
	if r.Programs {
		p := "-"
		if !s.NoInode {
			p = r.progOf(s)
		}
		fmt.Fprintf(r.w, " %-20s", p)
	}
	// sscanf's %s: the path up to the first white space.
	if i := strings.IndexAny(path, " \t\n\v\f\r"); i >= 0 {
		path = path[:i]
	}
	fmt.Fprintf(r.w, " %s\n", path)
}
