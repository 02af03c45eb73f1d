package snapshot

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Route flags (linux/route.h, ipv6_route.h) that net-tools decodes.
const (
	RTFUp      = 0x0001
	RTFGateway = 0x0002
	RTFHost    = 0x0004
	RTFReject  = 0x0200
	RTFCache   = 0x01000000
)

// Route4 is one line of /proc/net/route. Addresses are in network byte
// order, as the kernel prints them (little-endian hex of a __be32).
type Route4 struct {
	Iface               string
	Dest, Gateway, Mask [4]byte
	Flags               uint32
	RefCnt, Use, Metric int
	MTU, Window, IRTT   int
}

// RouteFieldError says a /proc table's header lacks a column net-tools
// requires; netstat prints "warning: FILE does not contain required field
// FIELD" and gives up on the table.
type RouteFieldError struct{ Field string }

func (e *RouteFieldError) Error() string { return "missing required field " + e.Field }

// ErrNoHeader is returned for a /proc table without its header line;
// netstat gives up on the table silently.
var ErrNoHeader = errors.New("no header line")

// routeColumn is one conversion of the scanf format net-tools builds from
// a /proc header (proc_gen_fmt): the i-th required title, or -1 to skip a
// column.
type routeConv struct {
	field int
	kind  byte // 's' string (width), 'X' hex, 'd' int, '*' skip
	width int
}

type routeWant struct {
	title string
	kind  byte
	width int
}

// routeFormat builds the conversions from a header line as proc_gen_fmt
// does: columns are matched against the wanted titles in order.
func routeFormat(header string, wants []routeWant) ([]routeConv, error) {
	if len(header) > 510 {
		header = header[:510]
	}
	buf := cstr(header) + " "
	var convs []routeConv
	next := 0
	for p := 0; p >= 0; {
		for p < len(buf) && (isCSpace(buf[p]) || buf[p] == '|') {
			p++
		}
		head := buf[p:]
		end := strings.IndexAny(head, "| \t\n")
		if end >= 0 {
			head = head[:end]
			p += end + 1
		} else {
			p = -1
		}
		if next < len(wants) && head == wants[next].title {
			convs = append(convs, routeConv{field: next, kind: wants[next].kind, width: wants[next].width})
			next++
			if next == len(wants) {
				break
			}
		} else {
			convs = append(convs, routeConv{field: -1, kind: '*'})
		}
	}
	if next < len(wants) {
		return nil, &RouteFieldError{Field: wants[next].title}
	}
	return convs, nil
}

// routeScan applies convs to line like sscanf, storing into vals; it
// returns the number of assigned conversions.
func routeScan(line string, convs []routeConv, vals []any) int {
	c := cscan{s: cstr(line)}
	n := 0
	for _, cv := range convs {
		switch cv.kind {
		case '*':
			if _, ok := c.str(0); !ok {
				return n
			}
		case 's':
			s, ok := c.str(cv.width)
			if !ok {
				return n
			}
			*(vals[cv.field].(*string)) = s
			n++
		case 'X':
			v, ok := c.hex(0)
			if !ok {
				return n
			}
			*(vals[cv.field].(*uint32)) = v
			n++
		case 'd':
			v, ok := c.int()
			if !ok {
				return n
			}
			*(vals[cv.field].(*int)) = v
			n++
		}
	}
	return n
}

// routeHex4 decodes net-tools' INET_getsock: the first 8 hex digits, the
// kernel's native-endian print of a big-endian address.
func routeHex4(s string) ([4]byte, bool) {
	var a [4]byte
	if len(s) < 8 {
		return a, false
	}
	for i := 0; i < 4; i++ {
		hi, ok1 := hexVal(s[2*i])
		lo, ok2 := hexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return a, false
		}
		a[3-i] = byte(hi<<4 | lo)
	}
	return a, true
}

var route4Wants = []routeWant{
	{"Iface", 's', 15}, {"Destination", 's', 127}, {"Gateway", 's', 127},
	{"Flags", 'X', 0}, {"RefCnt", 'd', 0}, {"Use", 'd', 0}, {"Metric", 'd', 0},
	{"Mask", 's', 127}, {"MTU", 'd', 0}, {"Window", 'd', 0}, {"IRTT", 'd', 0},
}

// ParseRoute reads /proc/net/route as netstat -r does: columns found by
// header title, lines with fewer than ten fields and routes not up
// skipped. An address that
// does not decode keeps the previous line's value (net-tools reuses the
// same variable). A header missing a column gives a *RouteFieldError.
func ParseRoute(r io.Reader) ([]Route4, error) {
	lines, err := readCLines(r, 1022)
	if len(lines) == 0 {
		if err != nil {
			return nil, fmt.Errorf("reading route table: %w", err)
		}
		return nil, ErrNoHeader
	}
	convs, ferr := routeFormat(lines[0], route4Wants)
	if ferr != nil {
		return nil, ferr
	}
	var out []Route4
	var cur Route4
	var dst, gw, mask string
	for _, l := range lines[1:] {
		vals := []any{&cur.Iface, &dst, &gw, &cur.Flags, &cur.RefCnt, &cur.Use, &cur.Metric, &mask, &cur.MTU, &cur.Window, &cur.IRTT}
		// net-tools decodes the addresses only of routes that are up, so
		// a bad address repeats the last up route's.
		if routeScan(l, convs, vals) < 10 || cur.Flags&RTFUp == 0 {
			continue
		}
		if a, ok := routeHex4(dst); ok {
			cur.Dest = a
		}
		if a, ok := routeHex4(gw); ok {
			cur.Gateway = a
		}
		if a, ok := routeHex4(mask); ok {
			cur.Mask = a
		}
		out = append(out, cur)
	}
	if err != nil {
		return out, fmt.Errorf("reading route table: %w", err)
	}
	return out, nil
}

// RouteCache4 is one line of /proc/net/rt_cache (empty since Linux 3.6,
// but the file and its header remain).
type RouteCache4 struct {
	Iface                       string
	Dest, Gateway, Source, Spec [4]byte
	Flags                       uint32
	RefCnt, Use, Metric         int
	MTU, Window, IRTT           int
	TOS, HHRef, HHUptod         int
}

var rtCacheWants = []routeWant{
	{"Iface", 's', 15}, {"Destination", 's', 127}, {"Gateway", 's', 127},
	{"Flags", 'X', 0}, {"RefCnt", 'd', 0}, {"Use", 'd', 0}, {"Metric", 'd', 0},
	{"Source", 's', 127}, {"MTU", 'd', 0}, {"Window", 'd', 0}, {"IRTT", 'd', 0},
	{"TOS", 'd', 0}, {"HHRef", 'd', 0}, {"HHUptod", 'd', 0}, {"SpecDst", 's', 127},
}

// RouteCacheFormat is net-tools' proc_guess_fmt of the rt_cache header:
// 63 for the Linux 2.2+ layout, 97 for 2.0.36.
func RouteCacheFormat(header string) int {
	f := 0
	for _, p := range []struct {
		s string
		v int
	}{{"IRTT", 1}, {"TOS", 2}, {"HHRef", 4}, {"HHUptod", 8}, {"SpecDst", 16}, {"HH", 32}, {"ARP", 64}} {
		if strings.Contains(header, p.s) {
			f |= p.v
		}
	}
	return f
}

// ParseRouteCache reads /proc/net/rt_cache in its Linux 2.2+ layout. It
// returns the header's proc_guess_fmt value and the entries.
func ParseRouteCache(r io.Reader) (int, []RouteCache4, error) {
	lines, err := readCLines(r, 1022)
	if len(lines) == 0 {
		if err != nil {
			return -1, nil, fmt.Errorf("reading route cache: %w", err)
		}
		return -1, nil, nil
	}
	format := RouteCacheFormat(lines[0])
	if format != 63 {
		return format, nil, nil
	}
	convs, ferr := routeFormat(lines[0], rtCacheWants)
	if ferr != nil {
		return format, nil, ferr
	}
	var out []RouteCache4
	var cur RouteCache4
	var dst, gw, src, spec string
	for _, l := range lines[1:] {
		vals := []any{&cur.Iface, &dst, &gw, &cur.Flags, &cur.RefCnt, &cur.Use, &cur.Metric, &src, &cur.MTU, &cur.Window, &cur.IRTT, &cur.TOS, &cur.HHRef, &cur.HHUptod, &spec}
		if routeScan(l, convs, vals) < 12 {
			continue
		}
		for _, p := range []struct {
			s string
			a *[4]byte
		}{{dst, &cur.Dest}, {gw, &cur.Gateway}, {src, &cur.Source}, {spec, &cur.Spec}} {
			if a, ok := routeHex4(p.s); ok {
				*p.a = a
			}
		}
		out = append(out, cur)
	}
	if err != nil {
		return format, out, fmt.Errorf("reading route cache: %w", err)
	}
	return format, out, nil
}

// Route6 is one line of /proc/net/ipv6_route.
type Route6 struct {
	Dest      [16]byte
	PrefixLen int
	Src       [16]byte
	SrcLen    int
	NextHop   [16]byte
	Metric    uint32
	RefCnt    uint32
	Use       uint32
	Flags     uint32
	Iface     string
}

// ParseRoute6 reads /proc/net/ipv6_route the way net-tools' sscanf does.
// net-tools never skips a line: whatever does not parse keeps the
// previous line's value, so a blank line repeats the route before it.
func ParseRoute6(r io.Reader) ([]Route6, error) {
	lines, err := readCLines(r, 1022)
	var out []Route6
	var cur Route6
	var parts [3][8]string
	for _, l := range lines {
		c := cscan{s: cstr(l)}
		ok := true
		addr := func(p *[8]string) {
			for i := 0; i < 8 && ok; i++ {
				if p[i], ok = c.str(4); !ok {
					return
				}
			}
		}
		hexInt := func(w int, dst *uint32) {
			if !ok {
				return
			}
			var v uint32
			if v, ok = c.hex(w); ok {
				*dst = v
			}
		}
		var plen, slen uint32 = uint32(cur.PrefixLen), uint32(cur.SrcLen)
		addr(&parts[0])
		hexInt(2, &plen)
		addr(&parts[1])
		hexInt(2, &slen)
		addr(&parts[2])
		hexInt(8, &cur.Metric)
		hexInt(8, &cur.RefCnt)
		hexInt(8, &cur.Use)
		hexInt(8, &cur.Flags)
		if ok {
			if s, ok2 := c.str(15); ok2 {
				cur.Iface = s
			}
		}
		cur.PrefixLen, cur.SrcLen = int(int32(plen)), int(int32(slen))
		for i, dst := range []*[16]byte{&cur.Dest, &cur.Src, &cur.NextHop} {
			if a, ok := route6Addr(parts[i]); ok {
				*dst = a
			}
		}
		out = append(out, cur)
	}
	if err != nil {
		return out, fmt.Errorf("reading ipv6 route table: %w", err)
	}
	return out, nil
}

// route6Addr joins eight groups with colons and parses them as inet_pton
// would.
func route6Addr(p [8]string) ([16]byte, bool) {
	var a [16]byte
	for i, g := range p {
		if len(g) == 0 || len(g) > 4 {
			return a, false
		}
		var v uint32
		for j := 0; j < len(g); j++ {
			d, ok := hexVal(g[j])
			if !ok {
				return a, false
			}
			v = v<<4 | uint32(d)
		}
		a[2*i] = byte(v >> 8)
		a[2*i+1] = byte(v)
	}
	return a, true
}

// ParseNetworks reads /etc/networks into net number -> name, as glibc's
// files backend does for getnetbyaddr (the first entry wins; "127" means
// 127.0.0.0).
func ParseNetworks(r io.Reader) map[uint32]string {
	lines, _ := readCLines(r, 0)
	out := map[uint32]string{}
	for _, l := range lines {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, ok := routeInetNetwork(f[1])
		if !ok {
			continue
		}
		if _, dup := out[n]; !dup {
			out[n] = f[0]
		}
	}
	return out
}

// routeInetNetwork is inet_network() after glibc pads a short dotted
// number to four parts.
func routeInetNetwork(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	for len(parts) < 4 {
		parts = append(parts, "0")
	}
	var v uint32
	for _, p := range parts {
		var n uint64
		var ok bool
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			n, ok = parseBase(p[2:], 16)
		case len(p) > 1 && p[0] == '0':
			n, ok = parseBase(p[1:], 8)
		default:
			n, ok = parseBase(p, 10)
		}
		if !ok || n > 255 {
			return 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, true
}

func parseBase(s string, base uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d, ok := hexVal(s[i])
		if !ok || d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 1<<32 {
			return 0, false
		}
	}
	return v, true
}
