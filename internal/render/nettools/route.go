package nettools

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/bpfstat/bpfstat/internal/ntop"
	"github.com/bpfstat/bpfstat/snapshot"
)

// RouteNames answers the reverse look-ups net-tools makes through glibc.
type RouteNames interface {
	// Host is gethostbyaddr/getnameinfo: "" when no name is known.
	Host(a netip.Addr) string
	// Network is getnetbyaddr on a host-order net number: "" when none.
	Network(n uint32) string
}

// RouteNoNames resolves nothing (every address prints numerically).
type RouteNoNames struct{}

func (RouteNoNames) Host(netip.Addr) string { return "" }
func (RouteNoNames) Network(uint32) string  { return "" }

// RouteNamer turns addresses into net-tools' text (INET_rresolve,
// INET6_rresolve), caching answers for the life of one netstat run.
type RouteNamer struct {
	names RouteNames
	cache map[routeNameKey]string
}

type routeNameKey struct {
	a    [4]byte
	host bool
}

// NewRouteNamer wraps n (nil means RouteNoNames).
func NewRouteNamer(n RouteNames) *RouteNamer {
	if n == nil {
		n = RouteNoNames{}
	}
	return &RouteNamer{names: n, cache: map[routeNameKey]string{}}
}

// net-tools' INET_rresolve "numeric" bits.
const (
	routeNumDefault = 0x8000 // "default" instead of "*" for 0.0.0.0/0
	routeNumHost    = 0x4000 // a host, not a network
)

// inet is INET_rresolve: numeric&0x0fff means no look-up; mask is the
// netmask as the bytes of a network-order word.
func (n *RouteNamer) inet(a [4]byte, numeric int, mask [4]byte) string {
	ip := netip.AddrFrom4(a)
	if numeric&0x0fff != 0 {
		return ip.String()
	}
	if a == [4]byte{} {
		if mask == [4]byte{} {
			if numeric&routeNumDefault != 0 {
				return "default"
			}
			return "*"
		}
		return "0.0.0.0"
	}
	host := numeric&routeNumHost != 0
	for i := range a {
		if a[i]&^mask[i] != 0 {
			host = true
		}
	}
	k := routeNameKey{a, host}
	if s, ok := n.cache[k]; ok {
		return s
	}
	var s string
	if host {
		s = n.names.Host(ip)
	} else {
		s = n.names.Network(uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]))
	}
	if s == "" {
		s = ip.String()
	}
	n.cache[k] = s
	return s
}

// inetSprint is INET_sprint: INET_rresolve with net-tools' fixed
// 0xffffff00 "netmask", compared against the address as stored in memory
// on a little-endian machine: only the first octet decides host vs net.
func (n *RouteNamer) inetSprint(a [4]byte, numeric int) string {
	return n.inet(a, numeric, [4]byte{0xff, 0xff, 0xff, 0x00})
}

// inet6 is INET6_sprint: numeric&0x7fff means inet_ntop.
func (n *RouteNamer) inet6(a [16]byte, numeric int) string {
	var s string
	switch {
	case numeric&0x7fff != 0:
		s = routeNtop6(a)
	case a == [16]byte{}:
		if numeric&0x8000 != 0 {
			s = "default"
		} else {
			s = "[::]"
		}
	default:
		s = n.names.Host(netip.AddrFrom16(a))
		if s == "" {
			s = routeNtop6(a)
		}
	}
	return routeFixV4(s, a)
}

// routeFixV4 is net-tools' fix_v4_address (see fixV4) on a raw address.
func routeFixV4(s string, a [16]byte) string { return fixV4(s, netip.AddrFrom16(a)) }

// routeNtop6 is glibc's inet_ntop for IPv6 on a raw address.
func routeNtop6(a [16]byte) string { return ntop.IPv6(netip.AddrFrom16(a)) }

// RouteOptions are what netstat -r passes to the address families'
// printers: Ext is (netstat's count of -e after its swap) & 3.
type RouteOptions struct {
	Ext     int
	Numeric bool // -n, --numeric-hosts or -N
}

func routeNumeric(o RouteOptions) int {
	if o.Numeric {
		return 4
	}
	return 0
}

func routeTrunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// routeFlags4 decodes FIB flags as inet_gr.c does.
func routeFlags4(f uint32) string {
	var b strings.Builder
	if f&0x0001 != 0 {
		b.WriteString("U")
	}
	if f&0x0002 != 0 {
		b.WriteString("G")
	}
	if f&0x0200 != 0 {
		b.Reset()
		b.WriteString("!")
	}
	for _, p := range []struct {
		bit uint32
		s   string
	}{
		{0x0004, "H"}, {0x0008, "R"}, {0x0010, "D"}, {0x0020, "M"},
		{0x00010000, "d"}, {0x00020000, "a"}, {0x00040000, "c"}, {0x00200000, "o"},
		{0x00400000, "e"}, {0x01000000, "c"}, {0x02000000, "f"}, {0x04000000, "p"},
		{0x80000000, "l"}, {0x0040, "u"}, {0x0080, "w"}, {0x0100, "i"}, {0x0400, "n"},
	} {
		if f&p.bit != 0 {
			b.WriteString(p.s)
		}
	}
	return b.String()
}

// RouteHeader4 prints "Kernel IP routing table" and the column line.
func RouteHeader4(w io.Writer, o RouteOptions) {
	fmt.Fprint(w, "Kernel IP routing table\n")
	switch {
	case o.Ext == 1:
		fmt.Fprint(w, "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n")
	case o.Ext == 2:
		fmt.Fprint(w, "Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface\n")
	case o.Ext >= 3:
		fmt.Fprint(w, "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface    MSS   Window irtt\n")
	}
}

// Routes4 prints the rows of the IPv4 FIB (routes not up are skipped).
func Routes4(w io.Writer, n *RouteNamer, rs []snapshot.Route4, o RouteOptions) {
	num := routeNumeric(o)
	for _, r := range rs {
		if r.Flags&snapshot.RTFUp == 0 {
			continue
		}
		dn := num | routeNumDefault
		if r.Flags&snapshot.RTFHost != 0 {
			dn |= routeNumHost
		}
		dst := routeTrunc(n.inet(r.Dest, dn, r.Mask), 15)
		gw := routeTrunc(n.inetSprint(r.Gateway, num|routeNumHost), 15)
		mask := netip.AddrFrom4(r.Mask).String()
		flags := routeFlags4(r.Flags)
		reject := r.Flags&snapshot.RTFReject != 0
		switch {
		case o.Ext == 1 && reject:
			fmt.Fprintf(w, "%-15s -               %-15s %-5s %-6d -  %7d -\n", dst, mask, flags, r.Metric, r.Use)
		case o.Ext == 1:
			fmt.Fprintf(w, "%-15s %-15s %-15s %-5s %-6d %-2d %7d %s\n", dst, gw, mask, flags, r.Metric, r.RefCnt, r.Use, r.Iface)
		case o.Ext == 2 && reject:
			fmt.Fprintf(w, "%-15s -               %-15s %-5s     - -          - -\n", dst, mask, flags)
		case o.Ext == 2:
			fmt.Fprintf(w, "%-15s %-15s %-15s %-5s %5d %-5d %6d %s\n", dst, gw, mask, flags, r.MTU, r.Window, r.IRTT, r.Iface)
		case o.Ext >= 3 && reject:
			fmt.Fprintf(w, "%-15s -               %-15s %-5s %-6d -  %7d -        -     -      -\n", dst, mask, flags, r.Metric, r.Use)
		case o.Ext >= 3:
			fmt.Fprintf(w, "%-15s %-15s %-15s %-5s %-6d %-3d %6d %-6.6s   %-5d %-6d %d\n", dst, gw, mask, flags, r.Metric, r.RefCnt, r.Use, r.Iface, r.MTU, r.Window, r.IRTT)
		}
	}
}

// RouteCache4 prints "Kernel IP routing cache" for the given
// proc_guess_fmt result and rows (the Linux 2.2+ layout).
func RouteCache4(w io.Writer, n *RouteNamer, format int, rs []snapshot.RouteCache4, o RouteOptions) {
	fmt.Fprint(w, "Kernel IP routing cache\n")
	switch format {
	case 63:
		format = 2
	case 97:
		format = 1
	default:
		fmt.Fprintf(w, "ERROR: proc_guess_fmt(%s,... returned: %d\n", "/proc/net/rt_cache", format)
	}
	switch {
	case o.Ext == 1:
		fmt.Fprint(w, "Source          Destination     Gateway         Flags Metric Ref    Use Iface\n")
	case o.Ext == 2:
		fmt.Fprint(w, "Source          Destination     Gateway         Flags   MSS Window  irtt Iface\n")
	}
	if format == 1 && o.Ext >= 3 {
		fmt.Fprint(w, "Source          Destination     Gateway         Flags Metric Ref    Use Iface    MSS   Window irtt  HH  Arp\n")
	}
	if format != 2 {
		return
	}
	if o.Ext >= 3 {
		fmt.Fprint(w, "Source          Destination     Gateway         Flags Metric Ref    Use Iface    MSS   Window irtt  TOS HHRef HHUptod     SpecDst\n")
	}
	num := routeNumeric(o)
	for _, r := range rs {
		dst := n.inetSprint(r.Dest, num)
		gw := n.inetSprint(r.Gateway, num)
		src := n.inetSprint(r.Source, num)
		spec := n.inetSprint(r.Spec, num)
		var b strings.Builder
		f := r.Flags
		if f&0x0002 != 0 {
			b.WriteString("G")
		}
		if f&0x0200 != 0 {
			b.Reset()
			b.WriteString("!")
		}
		for _, p := range []struct {
			bit uint32
			s   string
		}{
			{0x0008, "R"}, {0x0010, "D"}, {0x0020, "M"},
			{0x00000001, "-"}, {0x00000004, "o"}, // RTNH_F_DEAD, RTNH_F_ONLINK
			{0x00010000, "n"}, {0x00020000, "d"}, {0x00080000, "t"}, {0x00200000, "f"},
			{0x00400000, "q"}, {0x00800000, "Ns"}, {0x01000000, "r"}, {0x04000000, "i"},
			{0x08000000, "Nd"}, {0x10000000, "b"}, {0x20000000, "m"}, {0x40000000, "#"},
			{0x80000000, "l"},
		} {
			if f&p.bit != 0 {
				b.WriteString(p.s)
			}
		}
		flags := b.String()
		switch {
		case o.Ext == 1:
			fmt.Fprintf(w, "%-15s %-15s %-15s %-5s %-6d %-2d %7d %s\n", src, dst, gw, flags, r.Metric, r.RefCnt, r.Use, r.Iface)
		case o.Ext == 2:
			fmt.Fprintf(w, "%-15s %-15s %-15s %-5s %5d %-5d %6d %s\n", src, dst, gw, flags, r.MTU, r.Window, r.IRTT, r.Iface)
		}
		if o.Ext >= 3 {
			fmt.Fprintf(w, "%-15s %-15s %-15s %-5s %-6d %-3d %6d %-6.6s   %-5d %-6d %-5d %-3d %-3d   %-3d %15s\n", src, dst, gw, flags, r.Metric, r.RefCnt, r.Use, r.Iface, r.MTU, r.Window, r.IRTT, r.TOS, r.HHRef, r.HHUptod, spec)
		}
	}
}

// RouteHeader6 prints the IPv6 table's title and column line; cache
// selects "routing cache" (netstat -6 -C without /proc/net/ndisc).
func RouteHeader6(w io.Writer, cache bool) {
	if cache {
		fmt.Fprint(w, "Kernel IPv6 routing cache\n")
	} else {
		fmt.Fprint(w, "Kernel IPv6 routing table\n")
	}
	fmt.Fprint(w, "Destination                    Next Hop                   Flag Met Ref  Use If\n")
}

// Routes6 prints the rows of /proc/net/ipv6_route: with cache only
// RTF_CACHE entries, else only the others.
func Routes6(w io.Writer, n *RouteNamer, rs []snapshot.Route6, o RouteOptions, cache bool) {
	num := routeNumeric(o)
	for _, r := range rs {
		if (r.Flags&snapshot.RTFCache != 0) != cache {
			continue
		}
		dst := fmt.Sprintf("%s/%d", n.inet6(r.Dest, num), r.PrefixLen)
		nh := n.inet6(r.NextHop, num)
		var b strings.Builder
		for _, p := range []struct {
			bit uint32
			s   string
		}{
			{0x0001, "U"}, {0x0200, "!"}, {0x0002, "G"}, {0x0004, "H"}, {0x00010000, "D"},
			{0x00040000, "A"}, {0x01000000, "C"}, {0x00020000, "a"}, {0x00400000, "e"},
			{0x0020, "m"}, {0x00200000, "n"}, {0x02000000, "f"},
		} {
			if r.Flags&p.bit != 0 {
				b.WriteString(p.s)
			}
		}
		fmt.Fprintf(w, "%-30s %-26s %-4s %-3d %-1d %6d %s\n", dst, nh, b.String(), int32(r.Metric), int32(r.RefCnt), int32(r.Use), r.Iface)
	}
}
