package snapshot

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// Routing messages as FreeBSD 13/14's sysctl_iflist builds them for
// NET_RT_IFLISTL (sys/net/rtsock.c): struct if_msghdrl / ifa_msghdrl
// (24-byte header, then struct if_data at ifm_data_off = 24, header
// length ifm_len = 176), then sockaddrs padded to 8 bytes.

func sa8(b []byte) []byte {
	n := len(b)
	if n == 0 {
		return make([]byte, 8)
	}
	size := 1 + ((n - 1) | 7)
	return append(b, make([]byte, size-n)...)
}

func sockaddrDL(index uint16, name string, hw []byte) []byte {
	b := make([]byte, 8, 8+len(name)+len(hw))
	b[1] = bsdAFLink
	binary.NativeEndian.PutUint16(b[2:], index)
	b[4], b[5], b[6] = 6, byte(len(name)), byte(len(hw))
	b = append(b, name...)
	b = append(b, hw...)
	if len(b) < 20 {
		b = append(b, make([]byte, 20-len(b))...)
	}
	b[0] = byte(len(b))
	return sa8(b)
}

func sockaddrIn(a netip.Addr) []byte {
	b := make([]byte, 16)
	b[0], b[1] = 16, bsdAFInet
	a4 := a.As4()
	copy(b[4:], a4[:])
	return b
}

func sockaddrIn6(a netip.Addr, scope uint32) []byte {
	b := make([]byte, 28)
	b[0], b[1] = 28, bsdAFInet6
	a16 := a.As16()
	copy(b[8:], a16[:])
	binary.NativeEndian.PutUint32(b[24:], scope)
	return sa8(b)
}

type ifData struct {
	mtu                                                uint32
	ipk, ierr, opk, oerr, coll, ib, ob, iqdrop, oqdrop uint64
}

func rtMsg(typ byte, addrs uint32, flags uint32, index uint16, d ifData, sas ...[]byte) []byte {
	ne := binary.NativeEndian
	b := make([]byte, 176)
	b[2], b[3] = bsdRTMVersion, typ
	ne.PutUint32(b[4:], addrs)
	ne.PutUint32(b[8:], flags)
	ne.PutUint16(b[12:], index)
	ne.PutUint16(b[16:], 176)
	ne.PutUint16(b[18:], 24)
	data := b[24:]
	data[0] = 6 // IFT_ETHER
	ne.PutUint16(data[6:], bsdSizeIfData)
	ne.PutUint32(data[8:], d.mtu)
	for off, v := range map[int]uint64{24: d.ipk, 32: d.ierr, 40: d.opk, 48: d.oerr, 56: d.coll, 64: d.ib, 72: d.ob, 96: d.iqdrop, 104: d.oqdrop} {
		ne.PutUint64(data[off:], v)
	}
	for _, sa := range sas {
		b = append(b, sa...)
	}
	ne.PutUint16(b, uint16(len(b)))
	return b
}

func sampleIfList() []byte {
	var b []byte
	b = append(b, rtMsg(bsdRTMIfInfo, bsdRTAIfp, 0x8843, 1, ifData{mtu: 1500, ipk: 72980, opk: 67575, ib: 1e6, iqdrop: 2},
		sockaddrDL(1, "em0", []byte{0, 0xa0, 0xc9, 0xab, 0xfb, 0x8a}))...)
	b = append(b, rtMsg(bsdRTMNewAddr, bsdRTANetmask|bsdRTAIfa, 0, 1, ifData{ipk: 71968, opk: 67518},
		[]byte{8, 0, 0, 0, 255, 255, 255, 0}, sockaddrIn(netip.MustParseAddr("192.168.1.12")))...)
	mask6 := make([]byte, 24)
	mask6[0] = 24
	for i := 8; i < 16; i++ {
		mask6[i] = 0xff
	}
	b = append(b, rtMsg(bsdRTMNewAddr, bsdRTANetmask|bsdRTAIfa, 0, 1, ifData{opk: 4},
		mask6, sockaddrIn6(netip.MustParseAddr("fe80::2a0:c9ff:feab:fb8a"), 1))...)
	// A message type netstat does not list (RTM_IFANNOUNCE): skipped.
	b = append(b, rtMsg(0x11, 0, 0, 9, ifData{})...)
	b = append(b, rtMsg(bsdRTMIfInfo, bsdRTAIfp, 0x8048, 2, ifData{mtu: 16384, ipk: 76, opk: 76}, sockaddrDL(2, "lo0", nil))...)
	return b
}

func TestDecodeBSDIfList(t *testing.T) {
	l, err := DecodeBSDIfList(sampleIfList())
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 4 {
		t.Fatalf("%d entries: %+v", len(l), l)
	}
	em := l[0]
	if em.Name != "em0" || !em.Up || em.MTU != 1500 || em.Index != 1 || em.Family != 0 || len(em.HW) != 6 || em.HW[1] != 0xa0 ||
		em.Stats.IPackets != 72980 || em.Stats.OPackets != 67575 || em.Stats.IBytes != 1e6 || em.Stats.IDrops != 2 {
		t.Errorf("link row %+v", em)
	}
	if a := l[1]; a.Name != "em0" || a.Family != sock.FamilyInet || a.Addr.String() != "192.168.1.12" || a.Bits != 24 || a.MTU != 1500 || a.Stats.IPackets != 71968 {
		t.Errorf("inet row %+v", a)
	}
	if a := l[2]; a.Family != sock.FamilyInet6 || a.Addr.String() != "fe80::2a0:c9ff:feab:fb8a%em0" || a.Bits != 64 || a.Stats.OPackets != 4 {
		t.Errorf("inet6 row %+v", a)
	}
	if lo := l[3]; lo.Name != "lo0" || lo.Up || lo.HW != nil || lo.MTU != 16384 {
		t.Errorf("lo0 %+v", lo)
	}
}

func TestDecodeBSDIfListErrors(t *testing.T) {
	good := sampleIfList()
	bounds := map[int]bool{}
	for off := 0; off < len(good); off += int(binary.NativeEndian.Uint16(good[off:])) {
		bounds[off] = true
	}
	for i := 1; i < len(good); i++ {
		if _, err := DecodeBSDIfList(good[:i]); (err == nil) != bounds[i] {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	bad := append([]byte{}, good...)
	bad[2] = 4 // RTM_VERSION
	if _, err := DecodeBSDIfList(bad); !errors.Is(err, ErrBSDLayout) || !strings.Contains(err.Error(), "version 4") {
		t.Errorf("version: %v", err)
	}
	bad = append([]byte{}, good...)
	binary.NativeEndian.PutUint16(bad[24+6:], 136) // ifi_datalen of FreeBSD 10
	if _, err := DecodeBSDIfList(bad); !errors.Is(err, ErrBSDLayout) || !strings.Contains(err.Error(), "struct if_data length 136") {
		t.Errorf("if_data size: %v", err)
	}
	bad = append([]byte{}, good...)
	binary.NativeEndian.PutUint16(bad[16:], 8)
	if _, err := DecodeBSDIfList(bad); !errors.Is(err, ErrBSDLayout) || !strings.Contains(err.Error(), "struct if_msghdrl") {
		t.Errorf("header length: %v", err)
	}
	bad = append([]byte{}, good...)
	binary.NativeEndian.PutUint16(bad[0:], 60000)
	if _, err := DecodeBSDIfList(bad); err == nil || !strings.Contains(err.Error(), "message length 60000") {
		t.Errorf("message length: %v", err)
	}
	bad = append([]byte{}, good...)
	bad[176] = 200 // sockaddr_dl length beyond the message
	if _, err := DecodeBSDIfList(bad); err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Errorf("sockaddr length: %v", err)
	}
	if _, err := DecodeBSDIfList(good[:3]); err == nil {
		t.Error("3 bytes accepted")
	}
}

func FuzzDecodeBSDIfList(f *testing.F) {
	f.Add(sampleIfList())
	f.Add(rtMsg(bsdRTMNewAddr, 0xff, 0, 1, ifData{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeBSDIfList(b)
	})
}
