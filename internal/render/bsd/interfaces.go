package bsd

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/internal/ntop"
)

// IfStats are an if_data's counters.
type IfStats struct {
	IPackets, IErrors, IDrops, IBytes uint64
	OPackets, OErrors, OBytes, ODrops uint64
	Collisions                        uint64
}

// IfAddr is one getifaddrs(3) entry: a link-level row per interface
// (Family AFLink) followed by one row per address, in kernel order.
type IfAddr struct {
	Name  string
	Up    bool
	MTU   uint64
	Index int // the link row's <Link#N>
	// Family is AFLink, AFInet, AFInet6 or AFUnspec.
	Family int
	HW     []byte     // AFLink: the link-level address (none: the name shows)
	Addr   netip.Addr // AFInet/AFInet6, with its zone for scoped addresses
	Bits   int        // prefix length of the netmask
	// Network and Address, when set, replace the computed column text
	// (used to reproduce old outputs with KAME scope ids and names).
	Network, Address string
	Stats            IfStats
}

// IfOptions are -i's flags.
type IfOptions struct {
	Family      int    // -f inet|inet6|link, -4, -6
	Interface   string // -I
	Bytes       bool   // -b
	Drops       bool   // -d
	Wide        bool   // -W
	NumericAddr bool   // -n
	Legacy      bool   // FreeBSD 4.x-6.x: no Idrop column
	Names       Namer
}

// Interfaces prints netstat -i.
func Interfaces(out io.Writer, ifs []IfAddr, o IfOptions) error {
	w := &writer{Writer: bufio.NewWriter(out)}
	nameLen, netLen, addrLen := 5, 13, 17
	show := func(a *IfAddr) bool {
		if o.Interface != "" && a.Name != o.Interface {
			return false
		}
		return o.Family == AFUnspec || a.Family == o.Family
	}
	if o.Wide {
		hasV6 := false
		for i := range ifs {
			a := &ifs[i]
			if !show(a) {
				continue
			}
			n := len(a.Name)
			if !a.Up {
				n++
			}
			nameLen = max(nameLen, n)
			if a.Family == AFInet6 {
				hasV6 = true
			}
		}
		netLen = 18
		if hasV6 {
			netLen, addrLen = 24, 39
		}
	}
	w.pad("Name", nameLen, true, true)
	w.WriteByte(' ')
	w.pad("Mtu", 5, false, true)
	w.WriteByte(' ')
	w.pad("Network", netLen, true, true)
	w.WriteByte(' ')
	w.pad("Address", addrLen, true, true)
	w.WriteByte(' ')
	w.pad("Ipkts", 8, false, true)
	w.WriteByte(' ')
	w.pad("Ierrs", 5, false, true)
	if !o.Legacy {
		w.WriteByte(' ')
		w.pad("Idrop", 5, false, true)
	}
	if o.Bytes {
		w.WriteByte(' ')
		w.pad("Ibytes", 10, false, true)
	}
	w.WriteByte(' ')
	w.pad("Opkts", 8, false, true)
	w.WriteByte(' ')
	w.pad("Oerrs", 5, false, true)
	if o.Bytes {
		w.WriteByte(' ')
		w.pad("Obytes", 10, false, true)
	}
	w.WriteString("  Coll")
	if o.Drops {
		w.WriteString("  Drop")
	}
	w.WriteString("\n")

	stat := func(width int, v uint64, shown bool, rsep bool) {
		if shown {
			w.pad(strconv.FormatUint(v, 10), width, false, false)
		} else {
			w.pad("-", width, false, false)
		}
		if rsep {
			w.WriteByte(' ')
		}
	}
	for i := range ifs {
		a := &ifs[i]
		if !show(a) {
			continue
		}
		name := a.Name
		if !a.Up {
			name += "*"
		}
		w.pad(name, nameLen, true, true)
		w.pad(strconv.FormatUint(a.MTU, 10), 6, false, false)
		w.WriteByte(' ')
		network, link := false, false
		switch a.Family {
		case AFInet, AFInet6:
			nn, rn := a.Network, a.Address
			if nn == "" {
				nn = netname(a.Addr, a.Bits)
			}
			if rn == "" {
				rn = routename(a.Addr, o.NumericAddr, o.Names)
			}
			w.pad(nn, netLen, true, !o.Wide)
			w.WriteByte(' ')
			w.pad(rn, addrLen, true, !o.Wide)
			w.WriteByte(' ')
			network = true
		case AFLink:
			nn := a.Network
			if nn == "" {
				nn = fmt.Sprintf("<Link#%d>", a.Index)
			}
			w.pad(nn, netLen, true, true)
			w.WriteByte(' ')
			w.pad(linkname(a), addrLen, true, true)
			w.WriteByte(' ')
			link = true
		default:
			w.pad("none", netLen, true, true)
			w.WriteByte(' ')
			w.pad("none", addrLen, true, true)
			w.WriteByte(' ')
		}
		s := a.Stats
		stat(8, s.IPackets, link || network, true)
		stat(5, s.IErrors, link, true)
		if !o.Legacy {
			stat(5, s.IDrops, link, true)
		}
		if o.Bytes {
			stat(10, s.IBytes, link || network, true)
		}
		stat(8, s.OPackets, link || network, true)
		stat(5, s.OErrors, link, true)
		if o.Bytes {
			stat(10, s.OBytes, link || network, true)
		}
		stat(5, s.Collisions, link, false)
		if o.Drops {
			w.WriteByte(' ')
			stat(5, s.ODrops, link, false)
		}
		w.WriteString("\n")
	}
	return w.Flush()
}

// linkname is routename() of an AF_LINK address: ether_ntoa for 6-byte
// addresses, the interface name when there is none (link_ntoa).
func linkname(a *IfAddr) string {
	if a.Address != "" {
		return a.Address
	}
	switch len(a.HW) {
	case 0:
		return a.Name
	case 6:
		h := a.HW
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4], h[5])
	}
	parts := make([]string, len(a.HW))
	for i, c := range a.HW {
		parts[i] = strconv.FormatUint(uint64(c), 16)
	}
	return a.Name + ":" + strings.Join(parts, ".")
}

// netname is route.c's netname() for -i: the masked network with its
// prefix length, "%zone" kept for scoped IPv6 networks.
func netname(a netip.Addr, bits int) string {
	p, err := a.WithZone("").Prefix(bits)
	if err != nil {
		return a.String()
	}
	s := p.Addr().String()
	if a.Is6() {
		s = ntop.IPv6(p.Addr())
		if z := a.Zone(); z != "" {
			s += "%" + z
		}
	}
	return s + "/" + strconv.Itoa(bits)
}

// routename is route.c's routename(): a host name unless numeric, else
// the numeric address (with its zone).
func routename(a netip.Addr, numeric bool, names Namer) string {
	if !numeric && names != nil {
		if n := names.Host(a.WithZone("")); n != "" {
			return n
		}
	}
	if a.Is6() {
		return ntop.IPv6(a)
	}
	return a.String()
}
