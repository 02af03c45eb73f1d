package nettools

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"syscall"

	"github.com/bpfstat/bpfstat/snapshot"
)

// Interface flags (linux/if.h), as SIOCGIFFLAGS returns them.
const (
	ifaceUp          = 0x1
	ifaceBroadcast   = 0x2
	ifaceDebug       = 0x4
	ifaceLoopback    = 0x8
	ifacePointopoint = 0x10
	ifaceNotrailers  = 0x20
	ifaceRunning     = 0x40
	ifaceNoarp       = 0x80
	ifacePromisc     = 0x100
	ifaceAllmulti    = 0x200
	ifaceMaster      = 0x400
	ifaceSlave       = 0x800
	ifaceMulticast   = 0x1000
	ifacePortsel     = 0x2000
	ifaceAutomedia   = 0x4000
	ifaceDynamic     = 0x8000
)

// IfaceHeader prints netstat -i's title (only on the first round of -c)
// and, for the short form, its column line.
func IfaceHeader(w io.Writer, first, long bool) {
	if first {
		fmt.Fprint(w, "Kernel Interface table\n")
	}
	if !long {
		fmt.Fprint(w, "Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n")
	}
}

// IfaceShort prints one line of netstat -i (ife_print_short).
func IfaceShort(w io.Writer, it *snapshot.Interface) {
	var b strings.Builder
	name := it.Name
	if len(name) > 15 {
		name = name[:15]
	}
	fmt.Fprintf(&b, "%-15s ", name)
	fmt.Fprintf(&b, "%5d ", it.MTU)
	if it.StatsValid {
		s := &it.Stats
		fmt.Fprintf(&b, "%8d %6d %6d %-6d ", s.RxPackets, s.RxErrors, s.RxDropped, s.RxFIFO)
		fmt.Fprintf(&b, "%8d %6d %6d %6d ", s.TxPackets, s.TxErrors, s.TxDropped, s.TxFIFO)
	} else {
		fmt.Fprintf(&b, "%-56s", "     - no statistics available -")
	}
	f := uint16(it.Flags)
	if f == 0 {
		b.WriteString("[NO FLAGS]")
	}
	for _, p := range []struct {
		bit uint16
		c   string
	}{
		{ifaceAllmulti, "A"}, {ifaceBroadcast, "B"}, {ifaceDebug, "D"}, {ifaceLoopback, "L"},
		{ifaceMulticast, "M"}, {ifaceDynamic, "d"}, {ifacePromisc, "P"}, {ifaceNotrailers, "N"},
		{ifaceNoarp, "O"}, {ifacePointopoint, "P"}, {ifaceSlave, "s"}, {ifaceMaster, "m"},
		{ifaceRunning, "R"}, {ifaceUp, "U"},
	} {
		if f&p.bit != 0 {
			b.WriteString(p.c)
		}
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// ifaceHW is net-tools' struct hwtype for the hardware types Debian's
// netstat is built with.
type ifaceHW struct {
	name, title string
	print       func(a [16]byte) string
}

func ifaceHex(a []byte, upper bool, sep string) string {
	f := "%02x"
	if upper {
		f = "%02X"
	}
	parts := make([]string, len(a))
	for i, c := range a {
		parts[i] = fmt.Sprintf(f, c)
	}
	return strings.Join(parts, sep)
}

var ifaceUnspec = ifaceHW{"unspec", "UNSPEC", func(a [16]byte) string { return ifaceHex(a[:16], true, "-") }}

// ifaceHWTypes is keyed by ARPHRD_*; net-tools searches its list in
// order, so ARPHRD_NETROM (0) is NET/ROM.
var ifaceHWTypes = map[int]ifaceHW{
	772: {"loop", "Local Loopback", nil},
	3:   {"ax25", "AMPR AX.25", ifaceNetROM},
	256: {"slip", "Serial Line IP", nil},
	257: {"cslip", "VJ Serial Line IP", nil},
	258: {"slip6", "6-bit Serial Line IP", nil},
	259: {"cslip6", "VJ 6-bit Serial Line IP", nil},
	264: {"adaptive", "Adaptive Serial Line IP", nil},
	1:   {"ether", "Ethernet", func(a [16]byte) string { return ifaceHex(a[:6], false, ":") }},
	768: {"tunnel", "IPIP Tunnel", func([16]byte) string { return "" }},
	512: {"ppp", "Point-to-Point Protocol", nil},
	513: {"hdlc", "(Cisco)-HDLC", nil},
	516: {"lapb", "LAPB", nil},
	7:   {"arcnet", "ARCnet", func(a [16]byte) string { return ifaceHex(a[:1], true, "") }},
	15: {"dlci", "Frame Relay DLCI", func(a [16]byte) string {
		return fmt.Sprint(int(int16(uint16(a[0]) | uint16(a[1])<<8)))
	}},
	770: {"frad", "Frame Relay Access Device", nil},
	776: {"sit", "IPv6-in-IPv4", nil},
	774: {"fddi", "Fiber Distributed Data Interface", func(a [16]byte) string { return ifaceHex(a[:6], true, "-") }},
	780: {"hippi", "HIPPI", func(a [16]byte) string { return ifaceHex(a[:6], true, ":") }},
	783: {"irda", "IrLAP", func(a [16]byte) string {
		return fmt.Sprintf("%02x:%02x:%02x:%02x", a[3], a[2], a[1], a[0])
	}},
	782: {"ec", "Econet", nil},
	27:  {"eui64", "Generic EUI-64", func(a [16]byte) string { return ifaceHex(a[:8], true, ":") }},
}

// ifaceShortUnits scales a byte count as ife_print_long does, returning
// tenths and the unit.
func ifaceShortUnits(v uint64) (uint64, string) {
	short := v * 10
	switch {
	case v > 1152921504606846976:
		return v / 115292150460684697, "EiB"
	case v > 1125899906842624:
		return short / 1125899906842624, "PiB"
	case v > 1099511627776:
		return short / 1099511627776, "TiB"
	case v > 1073741824:
		return short / 1073741824, "GiB"
	case v > 1048576:
		return short / 1048576, "MiB"
	case v > 1024:
		return short / 1024, "KiB"
	}
	return short, "B"
}

var ifacePortText = []string{"unknown", "10base2", "10baseT", "AUI", "100baseT", "100baseTX", "100baseFX"}

// IfaceLong prints one interface the ifconfig way (netstat -ie), with the
// IPv6 addresses of addrs6 that belong to it.
func IfaceLong(w io.Writer, it *snapshot.Interface, addrs6 []snapshot.IfaceAddr6) {
	var b strings.Builder
	hw, ok := ifaceHWTypes[it.Type]
	if !ok {
		hw = ifaceUnspec
	}
	if it.Type == 0 {
		hw = ifaceHW{"netrom", "AMPR NET/ROM", ifaceNetROM}
	}
	f := uint16(it.Flags)
	flags := fmt.Sprintf("flags=%d<", it.Flags)
	if f == 0 {
		flags += ">"
	}
	for _, p := range []struct {
		bit uint16
		s   string
	}{
		{ifaceUp, "UP,"}, {ifaceBroadcast, "BROADCAST,"}, {ifaceDebug, "DEBUG,"},
		{ifaceLoopback, "LOOPBACK,"}, {ifacePointopoint, "POINTOPOINT,"},
		{ifaceNotrailers, "NOTRAILERS,"}, {ifaceRunning, "RUNNING,"}, {ifaceNoarp, "NOARP,"},
		{ifacePromisc, "PROMISC,"}, {ifaceAllmulti, "ALLMULTI,"}, {ifaceSlave, "SLAVE,"},
		{ifaceMaster, "MASTER,"}, {ifaceMulticast, "MULTICAST,"}, {ifaceDynamic, "DYNAMIC,"},
	} {
		if f&p.bit != 0 {
			flags += p.s
		}
	}
	if strings.HasSuffix(flags, ",") {
		flags = flags[:len(flags)-1] + ">"
	} else {
		flags = flags[:len(flags)-1]
	}
	fmt.Fprintf(&b, "%s: %s  mtu %d\n", it.Name, flags, it.MTU)
	if it.HasIP {
		fmt.Fprintf(&b, "        inet %s", netip.AddrFrom4(it.Addr))
		fmt.Fprintf(&b, "  netmask %s", netip.AddrFrom4(it.Netmask))
		if f&ifaceBroadcast != 0 {
			fmt.Fprintf(&b, "  broadcast %s", netip.AddrFrom4(it.Brd))
		}
		if f&ifacePointopoint != 0 {
			fmt.Fprintf(&b, "  destination %s", netip.AddrFrom4(it.Dest))
		}
		b.WriteString("\n")
	}
	for _, a := range addrs6 {
		if a.Dev != it.Name {
			continue
		}
		fmt.Fprintf(&b, "        inet6 %s  prefixlen %d", routeFixV4(routeNtop6(a.Addr), a.Addr), int32(a.PrefixLen))
		scope := int32(a.Scope)
		fmt.Fprintf(&b, "  scopeid 0x%x", uint32(scope))
		sf := "<"
		if scope&0x80 != 0 {
			sf += "compat,"
			scope -= 0x80
		}
		if scope == 0 {
			sf += "global,"
		}
		if scope&0x20 != 0 {
			sf += "link,"
		}
		if scope&0x40 != 0 {
			sf += "site,"
		}
		if scope&0x10 != 0 {
			sf += "host,"
		}
		if strings.HasSuffix(sf, ",") {
			sf = sf[:len(sf)-1] + ">"
		} else {
			sf = sf[:len(sf)-1]
		}
		b.WriteString(sf + "\n")
	}
	if hw.print != nil {
		fmt.Fprintf(&b, "        %s %s", hw.name, hw.print(it.HWAddr))
	} else {
		fmt.Fprintf(&b, "        %s", hw.name)
	}
	if it.TxQLen != -1 {
		fmt.Fprintf(&b, "  txqueuelen %d", it.TxQLen)
	}
	fmt.Fprintf(&b, "  (%s)\n", hw.title)
	if f&ifacePortsel != 0 {
		port := "(null)"
		if int(it.Map.Port) < len(ifacePortText) {
			port = ifacePortText[it.Map.Port]
		}
		fmt.Fprintf(&b, "        media %s", port)
		if f&ifaceAutomedia != 0 {
			b.WriteString("autoselect")
		}
		b.WriteString("\n")
	}
	if it.StatsValid {
		s := &it.Stats
		rx, rext := ifaceShortUnits(s.RxBytes)
		tx, text := ifaceShortUnits(s.TxBytes)
		fmt.Fprintf(&b, "        RX packets %d  bytes %d (%d.%d %s)\n", s.RxPackets, s.RxBytes, rx/10, rx%10, rext)
		canCompress := it.Type == 257 || it.Type == 259
		if canCompress {
			fmt.Fprintf(&b, "        RX compressed:%d\n", s.RxCompressed)
		}
		fmt.Fprintf(&b, "        RX errors %d  dropped %d  overruns %d  frame %d\n", s.RxErrors, s.RxDropped, s.RxFIFO, s.RxFrame)
		fmt.Fprintf(&b, "        TX packets %d  bytes %d (%d.%d %s)\n", s.TxPackets, s.TxBytes, tx/10, tx%10, text)
		if canCompress {
			fmt.Fprintf(&b, "        TX compressed %d\n", s.TxCompressed)
		}
		fmt.Fprintf(&b, "        TX errors %d  dropped %d overruns %d  carrier %d  collisions %d\n", s.TxErrors, s.TxDropped, s.TxFIFO, s.TxCarrier, s.Collisions)
	}
	m := it.Map
	if m.IRQ != 0 || m.MemStart != 0 || m.DMA != 0 || m.BaseAddr >= 0x100 {
		b.WriteString("        device ")
		if m.IRQ != 0 {
			fmt.Fprintf(&b, "interrupt %d  ", m.IRQ)
		}
		if m.BaseAddr >= 0x100 {
			fmt.Fprintf(&b, "base 0x%x  ", m.BaseAddr)
		}
		if m.MemStart != 0 {
			fmt.Fprintf(&b, "memory 0x%x-%x  ", m.MemStart, m.MemEnd)
		}
		if m.DMA != 0 {
			fmt.Fprintf(&b, "  dma 0x%x", m.DMA)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// ifaceNetROM prints an AX.25-style callsign (NETROM_print).
func ifaceNetROM(a [16]byte) string {
	var b strings.Builder
	for i := 0; i < 6; i++ {
		c := (a[i] >> 1) & 0x7f
		if c == ' ' || c == 0 { // a space ends the C string
			break
		}
		b.WriteByte(c)
	}
	if ssid := (a[6] & 0x1e) >> 1; ssid != 0 {
		fmt.Fprintf(&b, "-%d", ssid)
	}
	return b.String()
}

// IfaceFetchError is do_if_fetch's message for an interface whose flags
// could not be read.
func IfaceFetchError(ew io.Writer, it *snapshot.Interface) {
	msg := Strerror(it.FetchErr)
	if strings.EqualFold(msg, "No such device") {
		msg = "Device not found"
	}
	fmt.Fprintf(ew, "%s: error fetching interface information: %s\n", it.Name, msg)
}

// Strerror is glibc's strerror for the errno inside err (Go's messages
// are glibc's with a lower-case first letter).
func Strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	if err == nil {
		return "Success"
	}
	return err.Error()
}

// Perror is C's perror(prefix).
func Perror(ew io.Writer, prefix string, err error) {
	if prefix == "" {
		fmt.Fprintf(ew, "%s\n", Strerror(err))
		return
	}
	fmt.Fprintf(ew, "%s: %s\n", prefix, Strerror(err))
}
