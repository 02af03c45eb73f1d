package snapshot

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// IfaceStats are the counters of one /proc/net/dev line.
type IfaceStats struct {
	RxBytes, RxPackets, RxErrors, RxDropped, RxFIFO, RxFrame, RxCompressed, RxMulticast  uint64
	TxBytes, TxPackets, TxErrors, TxDropped, TxFIFO, Collisions, TxCarrier, TxCompressed uint64
}

// IfaceDev is one device of /proc/net/dev.
type IfaceDev struct {
	Name  string
	Stats IfaceStats
}

// IfaceMap is struct ifmap (SIOCGIFMAP).
type IfaceMap struct {
	MemStart, MemEnd uint64
	BaseAddr         uint16
	IRQ, DMA, Port   uint8
}

// IfaceAddr6 is one line of /proc/net/if_inet6.
type IfaceAddr6 struct {
	Addr      [16]byte
	Index     uint32
	PrefixLen uint32
	Scope     uint32
	Flags     uint32
	Dev       string
}

// Interface is what netstat -i knows of one interface: /proc/net/dev
// counters plus what the SIOCGIF* ioctls answer.
type Interface struct {
	Name       string
	StatsValid bool // listed in /proc/net/dev (aliases are not)
	Stats      IfaceStats
	// FetchErr is set when SIOCGIFFLAGS failed: netstat prints an error
	// for the interface and stops.
	FetchErr error
	Flags    int16 // SIOCGIFFLAGS: a C short
	Type     int   // ARPHRD_* from SIOCGIFHWADDR
	HWAddr   [16]byte
	MTU      int
	Map      IfaceMap
	TxQLen   int // -1 when unknown
	HasIP    bool
	Addr     [4]byte
	Dest     [4]byte
	Brd      [4]byte
	Netmask  [4]byte
}

// IfaceSnapshot is one netstat -i reading.
type IfaceSnapshot struct {
	Interfaces []Interface
	// ProcErr is set when /proc/net/dev could not be opened (netstat
	// warns "Limited output"); ConfErr when SIOCGIFCONF failed.
	ProcErr, ConfErr error
	// Addrs6 is /proc/net/if_inet6 (nil when unreadable).
	Addrs6 []IfaceAddr6
}

// ifaceGetName is net-tools' get_name (with its 2025 fixes): the name
// up to a colon or white space, keeping an alias suffix ":N" when the
// kernel wrote "name:N:", at most 15 bytes; it returns the rest.
func ifaceGetName(p string) (string, string) {
	i := 0
	for i < len(p) && isCSpace(p[i]) {
		i++
	}
	var name []byte
	for i < len(p) && !isCSpace(p[i]) && len(name) < 15 {
		if p[i] == ':' {
			dot := i
			i++
			for i < len(p) && p[i] >= '0' && p[i] <= '9' {
				i++
			}
			if i < len(p) && p[i] == ':' {
				i = dot
				name = append(name, p[i])
				i++
				for i < len(p) && p[i] >= '0' && p[i] <= '9' && len(name) < 15 {
					name = append(name, p[i])
					i++
				}
			} else {
				i = dot
			}
			if i < len(p) && p[i] == ':' {
				i++
			}
			break
		}
		name = append(name, p[i])
		i++
	}
	return string(name), p[i:]
}

// ParseNetDev reads /proc/net/dev: two header lines (the second tells
// the layout), then one line per device. Devices come back in file order;
// a repeated name overwrites the earlier counters it parses.
func ParseNetDev(r io.Reader) ([]IfaceDev, error) {
	lines, err := readCLines(r, 511)
	if len(lines) < 2 {
		if err != nil {
			return nil, fmt.Errorf("reading net/dev: %w", err)
		}
		return nil, nil
	}
	hdr := lines[1]
	vsn := 1
	if strings.Contains(hdr, "compressed") {
		vsn = 3
	} else if strings.Contains(hdr, "bytes") {
		vsn = 2
	}
	var out []IfaceDev
	idx := map[string]int{}
	for _, l := range lines[2:] {
		name, rest := ifaceGetName(cstr(l))
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, IfaceDev{Name: name})
		}
		s := &out[i].Stats
		var fields []*uint64
		switch vsn {
		case 3:
			fields = []*uint64{&s.RxBytes, &s.RxPackets, &s.RxErrors, &s.RxDropped, &s.RxFIFO, &s.RxFrame, &s.RxCompressed, &s.RxMulticast,
				&s.TxBytes, &s.TxPackets, &s.TxErrors, &s.TxDropped, &s.TxFIFO, &s.Collisions, &s.TxCarrier, &s.TxCompressed}
		case 2:
			fields = []*uint64{&s.RxBytes, &s.RxPackets, &s.RxErrors, &s.RxDropped, &s.RxFIFO, &s.RxFrame,
				&s.TxBytes, &s.TxPackets, &s.TxErrors, &s.TxDropped, &s.TxFIFO, &s.Collisions, &s.TxCarrier}
		default:
			fields = []*uint64{&s.RxPackets, &s.RxErrors, &s.RxDropped, &s.RxFIFO, &s.RxFrame,
				&s.TxPackets, &s.TxErrors, &s.TxDropped, &s.TxFIFO, &s.Collisions, &s.TxCarrier}
		}
		for _, f := range fields {
			v, n := strtoull(rest)
			if n == 0 {
				break
			}
			*f = v
			rest = rest[n:]
		}
		switch vsn {
		case 2:
			s.RxMulticast = 0
		case 1:
			s.RxBytes, s.TxBytes, s.RxMulticast = 0, 0, 0
		}
	}
	if err != nil {
		return out, fmt.Errorf("reading net/dev: %w", err)
	}
	return out, nil
}

// ParseIfInet6 reads /proc/net/if_inet6. Lines that do not parse in full
// are skipped.
func ParseIfInet6(r io.Reader) ([]IfaceAddr6, error) {
	lines, err := readCLines(r, 0)
	var out []IfaceAddr6
	for _, l := range lines {
		c := cscan{s: cstr(l)}
		var parts [8]string
		ok := true
		for i := range parts {
			if parts[i], ok = c.str(4); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		a, ok := route6Addr(parts)
		if !ok {
			continue
		}
		var e IfaceAddr6
		e.Addr = a
		if e.Index, ok = c.hex(8); !ok {
			continue
		}
		if e.PrefixLen, ok = c.hex(2); !ok {
			continue
		}
		if e.Scope, ok = c.hex(2); !ok {
			continue
		}
		if e.Flags, ok = c.hex(2); !ok {
			continue
		}
		if e.Dev, ok = c.str(20); !ok {
			continue
		}
		out = append(out, e)
	}
	if err != nil {
		return out, fmt.Errorf("reading if_inet6: %w", err)
	}
	return out, nil
}

// ifaceCutAlias is net-tools' cutalias: "eth0:12" -> ("eth0", "12").
func ifaceCutAlias(name string) (string, string, bool) {
	digit := false
	for pos := len(name); pos > 0; pos-- {
		c := name[pos-1]
		if c == ':' && digit {
			return name[:pos-1], name[pos:], true
		}
		if c < '0' || c > '9' {
			break
		}
		digit = true
	}
	return name, "", false
}

func ifaceAtoi(s string) int {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	v, _ := strconv.ParseInt(s[i:j], 10, 32)
	return int(v)
}

func cmpSign(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// IfaceCompare is net-tools' nstrcmp: names compare by their non-digit
// stem, then by their trailing number, then by alias number.
func IfaceCompare(ap, bp string) int {
	a, aalias, aok := ifaceCutAlias(ap)
	b, balias, bok := ifaceCutAlias(bp)
	ai, bi := ifaceStemLen(a), ifaceStemLen(b)
	n := min(ai, bi)
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	if ai != bi {
		return cmpSign(ai, bi)
	}
	if c := cmpSign(ifaceAtoi(a[ai:]), ifaceAtoi(b[bi:])); c != 0 {
		return c
	}
	if c := strings.Compare(a, b); c != 0 {
		return c
	}
	av, bv := -1, -1
	if aok {
		av = ifaceAtoi(aalias)
	}
	if bok {
		bv = ifaceAtoi(balias)
	}
	if c := cmpSign(av, bv); c != 0 {
		return c
	}
	if aok && bok {
		return strings.Compare(aalias, balias)
	}
	return 0
}

// ifaceStemLen is rindex_nondigit: the length without trailing digits.
func ifaceStemLen(s string) int {
	for pos := len(s); pos > 0; pos-- {
		if s[pos-1] < '0' || s[pos-1] > '9' {
			return pos
		}
	}
	return 0
}

// IfaceList is net-tools' sorted interface cache: Add inserts a name as
// if_cache_add does (walking back from the tail), ignoring duplicates.
type IfaceList struct{ Names []string }

// Add inserts name and reports its index.
func (l *IfaceList) Add(name string) int {
	i := len(l.Names) - 1
	for ; i >= 0; i-- {
		n := IfaceCompare(l.Names[i], name)
		if n == 0 {
			return i
		}
		if n < 0 {
			break
		}
	}
	l.Names = append(l.Names, "")
	copy(l.Names[i+2:], l.Names[i+1:])
	l.Names[i+1] = name
	return i + 1
}
