package snapshot

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// scanner reads one /proc line the way the C sscanf formats net-tools uses
// do, so malformed lines are judged exactly as netstat judges them: n
// counts the conversions that succeeded before the first mismatch.
type scanner struct {
	s   string
	n   int
	bad bool
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (sc *scanner) space() {
	i := 0
	for i < len(sc.s) && isSpace(sc.s[i]) {
		i++
	}
	sc.s = sc.s[i:]
}

func (sc *scanner) lit(c byte) {
	if sc.bad {
		return
	}
	if len(sc.s) == 0 || sc.s[0] != c {
		sc.bad = true
		return
	}
	sc.s = sc.s[1:]
}

func hexval(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// num converts an unsigned number in base 10 or 16 (%d, %u, %X, %lX), with
// an optional sign as sscanf allows.
func (sc *scanner) num(base int) uint64 {
	if sc.bad {
		return 0
	}
	sc.space()
	neg := false
	if len(sc.s) > 0 && (sc.s[0] == '-' || sc.s[0] == '+') {
		neg = sc.s[0] == '-'
		sc.s = sc.s[1:]
	}
	if base == 16 && len(sc.s) > 2 && sc.s[0] == '0' && (sc.s[1] == 'x' || sc.s[1] == 'X') && hexval(sc.s[2]) >= 0 {
		sc.s = sc.s[2:]
	}
	var v uint64
	i := 0
	for ; i < len(sc.s); i++ {
		d := hexval(sc.s[i])
		if d < 0 || d >= base {
			break
		}
		v = v*uint64(base) + uint64(d)
	}
	if i == 0 {
		sc.bad = true
		return 0
	}
	sc.s = sc.s[i:]
	sc.n++
	if neg {
		v = -v
	}
	return v
}

// hexset converts %64[0-9A-Fa-f].
func (sc *scanner) hexset(max int) string {
	if sc.bad {
		return ""
	}
	sc.space()
	i := 0
	for i < len(sc.s) && i < max && hexval(sc.s[i]) >= 0 {
		i++
	}
	if i == 0 {
		sc.bad = true
		return ""
	}
	v := sc.s[:i]
	sc.s = sc.s[i:]
	sc.n++
	return v
}

// word converts %s: a run of non-space characters.
func (sc *scanner) word() string {
	if sc.bad {
		return ""
	}
	sc.space()
	i := 0
	for i < len(sc.s) && !isSpace(sc.s[i]) {
		i++
	}
	if i == 0 {
		sc.bad = true
		return ""
	}
	v := sc.s[:i]
	sc.s = sc.s[i:]
	sc.n++
	return v
}

// procAddr decodes a /proc/net address: up to 8 hex digits are an IPv4
// address, longer ones four 32-bit words of an IPv6 address, each printed
// in host byte order by the kernel.
func procAddr(h string) netip.Addr {
	if len(h) <= 8 {
		var sc scanner
		sc.s = h
		v := uint32(sc.num(16))
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], v)
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	for i := 0; i < 4; i++ {
		var w uint32
		if lo := i * 8; lo < len(h) {
			hi := min(lo+8, len(h))
			var sc scanner
			sc.s = h[lo:hi]
			w = uint32(sc.num(16))
		}
		binary.NativeEndian.PutUint32(b[i*4:], w)
	}
	return netip.AddrFrom16(b)
}

// nextLine cuts the next line, with its newline, off *text.
func nextLine(text *string) string {
	i := strings.IndexByte(*text, '\n')
	if i < 0 {
		line := *text
		*text = ""
		return line
	}
	line := (*text)[:i+1]
	*text = (*text)[i+1:]
	return line
}

// ParseInet parses /proc/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6}.
// The first line is a header. Lines netstat would reject become warnings
// ("warning, got bogus tcp line.") and are skipped.
func ParseInet(r io.Reader, proto sock.Proto) (socks []sock.Socket, warnings []string, err error) {
	need, name := 10, "udp"
	switch proto {
	case sock.ProtoTCP:
		need, name = 11, "tcp"
	case sock.ProtoRaw:
		name = "raw"
	case sock.ProtoUDP, sock.ProtoUDPLite:
	default:
		return nil, nil, fmt.Errorf("parsing /proc/net: protocol %v is not an inet protocol", proto)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s table: %w", name, err)
	}
	text := string(data)
	// Lines are ~150 bytes: size the result once.
	socks = make([]sock.Socket, 0, len(text)/140+1)
	for lnr := 0; text != ""; lnr++ {
		line := nextLine(&text)
		if lnr == 0 {
			continue
		}
		s, ok := parseInetLine(line, proto, need)
		if !ok {
			warnings = append(warnings, "warning, got bogus "+name+" line.")
			continue
		}
		socks = append(socks, s)
	}
	return socks, warnings, nil
}

func parseInetLine(line string, proto sock.Proto, need int) (sock.Socket, bool) {
	// "%d: %64[0-9A-Fa-f]:%X %64[0-9A-Fa-f]:%X %X %lX:%lX %X:%lX %lX %d %d %lu %*s"
	sc := scanner{s: line}
	sc.num(10)
	sc.lit(':')
	lh := sc.hexset(64)
	sc.lit(':')
	lp := sc.num(16)
	rh := sc.hexset(64)
	sc.lit(':')
	rp := sc.num(16)
	state := sc.num(16)
	txq := sc.num(16)
	sc.lit(':')
	rxq := sc.num(16)
	tr := sc.num(16)
	sc.lit(':')
	tl := sc.num(16)
	retr := sc.num(16)
	uid := sc.num(10)
	timeout := sc.num(10)
	inode := sc.num(10)
	if sc.n < need {
		return sock.Socket{}, false
	}
	la, ra := procAddr(lh), procAddr(rh)
	s := sock.Socket{
		Family: sock.FamilyInet,
		Proto:  proto,
		Local:  netip.AddrPortFrom(la, uint16(lp)),
		Remote: netip.AddrPortFrom(ra, uint16(rp)),
		State:  sock.State(state),
		SendQ:  txq,
		RecvQ:  rxq,
		UID:    uint32(uid),
		Inode:  inode,
		Timer:  sock.Timer{Kind: uint8(tr), Ticks: tl, Retrans: retr, Timeout: int64(timeout)},
	}
	if la.Is6() {
		s.Family = sock.FamilyInet6
	}
	if proto == sock.ProtoRaw {
		s.RawProto = uint16(lp)
	}
	return s, true
}

// ParseUnix parses /proc/net/unix. The header tells whether the kernel
// prints inodes (every kernel since 2.2 does).
func ParseUnix(r io.Reader) (socks []sock.Socket, warnings []string, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading unix table: %w", err)
	}
	text := string(data)
	socks = make([]sock.Socket, 0, len(text)/60+1)
	hasInode := false
	for lnr := 0; text != ""; lnr++ {
		line := nextLine(&text)
		if lnr == 0 {
			hasInode = strings.Contains(line, "Inode")
			continue
		}
		// "%p: %lX %lX %lX %X %X %lu %s"
		sc := scanner{s: line}
		sc.num(16)
		sc.lit(':')
		ref := sc.num(16)
		proto := sc.num(16)
		flags := sc.num(16)
		typ := sc.num(16)
		state := sc.num(16)
		inode := sc.num(10)
		var path string
		if !sc.bad {
			// The kernel prints the path after one space; keep it whole
			// (renderers that mimic %s cut it at white space themselves).
			rest := strings.TrimRight(sc.s, "\n")
			if strings.HasPrefix(rest, " ") {
				path = rest[1:]
			}
		}
		if sc.n < 6 {
			warnings = append(warnings, "warning, got bogus unix line.")
			continue
		}
		socks = append(socks, sock.Socket{
			Family:    sock.FamilyUnix,
			Proto:     sock.ProtoUnix,
			RefCnt:    ref,
			UnixProto: uint32(proto),
			UnixFlags: uint32(flags),
			UnixType:  uint8(typ),
			State:     sock.State(state),
			Inode:     inode,
			Path:      path,
			NoInode:   !hasInode,
		})
	}
	return socks, warnings, nil
}
