package snapshot

// Pure decoder for FreeBSD's NET_RT_IFLISTL routing sysctl (what libc's
// getifaddrs(3) reads and netstat -i prints), per freebsd-src
// sys/net/if.h (if_msghdrl, ifa_msghdrl, struct if_data) and
// sys/net/route.h (RTA_* order, SA_SIZE) as of releng/13.x and 14.x.
// The messages carry their own header length and data offset; struct
// if_data is 152 bytes since FreeBSD 11 and its ifi_datalen is checked.

import (
	"fmt"
	"net/netip"

	"github.com/bpfstat/bpfstat/internal/sock"
)

const (
	bsdRTMVersion  = 5    // RTM_VERSION
	bsdRTMNewAddr  = 0x0c // RTM_NEWADDR
	bsdRTMIfInfo   = 0x0e // RTM_IFINFO
	bsdRTANetmask  = 0x04 // RTA_NETMASK
	bsdRTAIfp      = 0x10 // RTA_IFP
	bsdRTAIfa      = 0x20 // RTA_IFA
	bsdSizeIfData  = 152  // struct if_data
	bsdAFLink      = 18   // AF_LINK
	bsdIFFUp       = 0x1  // IFF_UP
	bsdIfmHdrlMin  = 24   // if_msghdrl / ifa_msghdrl up to their data
	bsdSockaddrAln = 8    // SA_SIZE rounds to sizeof(long) on LP64
)

// BSDIfStats are the struct if_data counters netstat -i prints.
type BSDIfStats struct {
	IPackets, IErrors, IDrops, IBytes uint64
	OPackets, OErrors, OBytes, ODrops uint64
	Collisions                        uint64
}

// BSDIfAddr is one getifaddrs(3) entry: an interface's link row (Family
// 0) or one of its addresses.
type BSDIfAddr struct {
	Name   string
	Up     bool
	MTU    uint64
	Index  int
	Family sock.Family // 0: the AF_LINK row
	HW     []byte      // link row: the link-level address
	Addr   netip.Addr  // address rows, zoned for scoped IPv6
	Bits   int         // netmask prefix length
	Stats  BSDIfStats
}

func bsdIfData(msg []byte, off int) (BSDIfStats, uint64, error) {
	if off < 0 || off+bsdSizeIfData > len(msg) {
		return BSDIfStats{}, 0, fmt.Errorf("struct if_data at %d overruns a %d-byte message", off, len(msg))
	}
	d := msg[off : off+bsdSizeIfData]
	if n := bsdNE.Uint16(d[6:]); n != bsdSizeIfData {
		return BSDIfStats{}, 0, fmt.Errorf("struct if_data length %d, want %d: %w", n, bsdSizeIfData, ErrBSDLayout)
	}
	u := func(o int) uint64 { return bsdNE.Uint64(d[o:]) }
	return BSDIfStats{
		IPackets: u(24), IErrors: u(32), OPackets: u(40), OErrors: u(48), Collisions: u(56),
		IBytes: u(64), OBytes: u(72), IDrops: u(96), ODrops: u(104),
	}, uint64(bsdNE.Uint32(d[8:])), nil
}

// bsdSockaddrs splits the sockaddrs after a routing message header by
// their RTA_* bits, as rt_xaddrs does.
func bsdSockaddrs(b []byte, addrs uint32) (map[uint32][]byte, error) {
	out := map[uint32][]byte{}
	p := 0
	for bit := uint32(1); bit <= 0x80; bit <<= 1 {
		if addrs&bit == 0 {
			continue
		}
		if p >= len(b) {
			return nil, fmt.Errorf("sockaddr for RTA bit %#x missing", bit)
		}
		l := int(b[p])
		size := bsdSockaddrAln
		if l > 0 {
			size = 1 + ((l - 1) | (bsdSockaddrAln - 1))
		}
		if l > len(b)-p {
			return nil, fmt.Errorf("sockaddr for RTA bit %#x: length %d overruns the message", bit, l)
		}
		out[bit] = b[p : p+l]
		p += size
	}
	return out, nil
}

func maskBits(m []byte) int {
	n := 0
	for _, c := range m {
		for ; c&0x80 != 0; c <<= 1 {
			n++
		}
	}
	return n
}

// DecodeBSDIfList decodes a NET_RT_IFLISTL sysctl buffer into
// getifaddrs(3) order. Address rows take their interface's name, flags
// and MTU, as getifaddrs and netstat show them.
func DecodeBSDIfList(b []byte) ([]BSDIfAddr, error) {
	var out []BSDIfAddr
	type ifinfo struct {
		name string
		up   bool
		mtu  uint64
	}
	ifs := map[int]ifinfo{}
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL: truncated message header at byte %d", off)
		}
		n := int(bsdNE.Uint16(b[off:]))
		if n < 4 || n > len(b)-off {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL at byte %d: message length %d of %d left", off, n, len(b)-off)
		}
		msg := b[off : off+n]
		off += n
		if msg[2] != bsdRTMVersion {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL: routing message version %d, want %d: %w", msg[2], bsdRTMVersion, ErrBSDLayout)
		}
		typ := msg[3]
		if typ != bsdRTMIfInfo && typ != bsdRTMNewAddr {
			continue
		}
		name := "struct if_msghdrl"
		if typ == bsdRTMNewAddr {
			name = "struct ifa_msghdrl"
		}
		if len(msg) < bsdIfmHdrlMin {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL: %s of %d bytes: %w", name, len(msg), ErrBSDLayout)
		}
		addrs := bsdNE.Uint32(msg[4:])
		flags := bsdNE.Uint32(msg[8:])
		index := int(bsdNE.Uint16(msg[12:]))
		hdrLen := int(bsdNE.Uint16(msg[16:]))
		dataOff := int(bsdNE.Uint16(msg[18:]))
		if hdrLen < bsdIfmHdrlMin || hdrLen > len(msg) {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL: %s header length %d in a %d-byte message: %w", name, hdrLen, len(msg), ErrBSDLayout)
		}
		stats, mtu, err := bsdIfData(msg, dataOff)
		if err != nil {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL %s: %w", name, err)
		}
		sas, err := bsdSockaddrs(msg[hdrLen:], addrs)
		if err != nil {
			return out, fmt.Errorf("decoding NET_RT_IFLISTL %s: %w", name, err)
		}
		if typ == bsdRTMIfInfo {
			e := BSDIfAddr{Up: flags&bsdIFFUp != 0, MTU: mtu, Index: index, Stats: stats}
			if dl := sas[bsdRTAIfp]; len(dl) >= 8 && dl[1] == bsdAFLink {
				nlen, alen := int(dl[5]), int(dl[6])
				data := dl[8:]
				if nlen <= len(data) {
					e.Name = string(data[:nlen])
					if alen > 0 && nlen+alen <= len(data) {
						e.HW = append([]byte(nil), data[nlen:nlen+alen]...)
					}
				}
			}
			ifs[index] = ifinfo{e.Name, e.Up, e.MTU}
			out = append(out, e)
			continue
		}
		info := ifs[index]
		e := BSDIfAddr{Name: info.name, Up: info.up, MTU: info.mtu, Index: index,
			Stats: BSDIfStats{IPackets: stats.IPackets, OPackets: stats.OPackets, IBytes: stats.IBytes, OBytes: stats.OBytes}}
		sa, mask := sas[bsdRTAIfa], sas[bsdRTANetmask]
		switch {
		case len(sa) >= 8 && sa[1] == bsdAFInet:
			e.Family = sock.FamilyInet
			e.Addr = netip.AddrFrom4([4]byte(sa[4:8]))
			if len(mask) > 4 {
				e.Bits = maskBits(mask[4:min(len(mask), 8)])
			}
		case len(sa) >= 28 && sa[1] == bsdAFInet6:
			e.Family = sock.FamilyInet6
			e.Addr = netip.AddrFrom16([16]byte(sa[8:24]))
			if scope := int(bsdNE.Uint32(sa[24:])); scope != 0 {
				if si, ok := ifs[scope]; ok && si.name != "" {
					e.Addr = e.Addr.WithZone(si.name)
				} else {
					e.Addr = e.Addr.WithZone(fmt.Sprint(scope))
				}
			}
			if len(mask) > 8 {
				e.Bits = maskBits(mask[8:min(len(mask), 24)])
			}
		default:
			continue // other families: netstat -i shows them only with -f
		}
		out = append(out, e)
	}
	return out, nil
}
