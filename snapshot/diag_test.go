package snapshot

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// inetDiagMsg builds a struct inet_diag_msg as the kernel sends it.
func inetDiagMsg(family, state, timer, retrans uint8, l, r netip.AddrPort, cookie uint64, expires, rq, wq, uid, inode uint32) []byte {
	b := make([]byte, inetDiagMsgLen)
	ne := binary.NativeEndian
	b[0], b[1], b[2], b[3] = family, state, timer, retrans
	binary.BigEndian.PutUint16(b[4:], l.Port())
	binary.BigEndian.PutUint16(b[6:], r.Port())
	la, ra := l.Addr().AsSlice(), r.Addr().AsSlice()
	copy(b[8:], la)
	copy(b[24:], ra)
	ne.PutUint32(b[44:], uint32(cookie))
	ne.PutUint32(b[48:], uint32(cookie>>32))
	ne.PutUint32(b[52:], expires)
	ne.PutUint32(b[56:], rq)
	ne.PutUint32(b[60:], wq)
	ne.PutUint32(b[64:], uid)
	ne.PutUint32(b[68:], inode)
	return b
}

func nlmsg(typ uint16, seq uint32, payload []byte) []byte {
	b := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(payload)+3)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(nlmsgHdrLen+len(payload)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint32(b[8:], seq)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestDecodeInetDiag(t *testing.T) {
	l := netip.MustParseAddrPort("127.0.0.1:8080")
	r := netip.MustParseAddrPort("0.0.0.0:0")
	s, err := decodeInetDiag(inetDiagMsg(2, uint8(sock.StateListen), 0, 0, l, r, 1<<33|5, 0, 3, 128, 1000, 4242), sock.ProtoTCP)
	if err != nil {
		t.Fatal(err)
	}
	want := sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: l, Remote: r, State: sock.StateListen,
		RecvQ: 3, SendQ: 0, UID: 1000, Inode: 4242, Cookie: 1<<33 | 5}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("listener:\n got %+v\nwant %+v", s, want)
	}
	// Keepalive timer: idiag_retrans is probes_out, expires in ms.
	l6 := netip.MustParseAddrPort("[::1]:22")
	r6 := netip.MustParseAddrPort("[::1]:40000")
	msg := inetDiagMsg(10, uint8(sock.StateEstablished), 2, 3, l6, r6, 7, 7205, 0, 10, 0, 99)
	s, _ = decodeInetDiag(msg, sock.ProtoTCP)
	if s.Timer != (sock.Timer{Kind: 2, Ticks: 720, Timeout: 3}) || s.Local != l6 || s.SendQ != 10 {
		t.Fatalf("keepalive: %+v", s)
	}
	// With INET_DIAG_INFO the counters come from tcp_info.
	attr := []byte{12, 0, inetDiagInfo, 0, 0, 0, 5, 1, 0, 0, 0, 0}
	s, _ = decodeInetDiag(append(msg, attr...), sock.ProtoTCP)
	if s.Timer.Retrans != 5 || s.Timer.Timeout != 1 {
		t.Fatalf("tcp_info counters: %+v", s.Timer)
	}
	// Request sockets print as SYN_RECV and take the listener's uid.
	req, _ := decodeInetDiag(inetDiagMsg(2, uint8(sock.StateNewSynRecv), 1, 0, l, netip.MustParseAddrPort("127.0.0.1:5000"), 9, 1000, 0, 0, 0, 0), sock.ProtoTCP)
	lst, _ := decodeInetDiag(inetDiagMsg(2, uint8(sock.StateListen), 0, 0, netip.MustParseAddrPort("0.0.0.0:8080"), r, 1, 0, 0, 0, 33, 1), sock.ProtoTCP)
	socks := []sock.Socket{lst, req}
	fixRequestUIDs(socks)
	if socks[1].State != sock.StateSynRecv || socks[1].UID != 33 || socks[1].Timer.Ticks != 100 {
		t.Fatalf("request socket: %+v", socks[1])
	}
	// Raw: the "port" is the protocol.
	raw, _ := decodeInetDiag(inetDiagMsg(2, 7, 0, 0, netip.MustParseAddrPort("0.0.0.0:1"), r, 1, 0, 0, 0, 0, 5), sock.ProtoRaw)
	if raw.RawProto != 1 {
		t.Fatalf("raw: %+v", raw)
	}
	if _, err := decodeInetDiag(msg[:40], sock.ProtoTCP); err == nil {
		t.Fatal("short message accepted")
	}
}

func TestNetlinkMessages(t *testing.T) {
	l := netip.MustParseAddrPort("127.0.0.1:1")
	m := inetDiagMsg(2, 1, 0, 0, l, l, 1, 0, 0, 0, 0, 1)
	buf := append(nlmsg(sockDiagByFamily, 7, m), nlmsg(sockDiagByFamily, 6, m)...) // 6: stale
	buf = append(buf, nlmsg(sockDiagByFamily, 7, m)...)
	n := 0
	done, err := netlinkMessages(buf, 7, func([]byte) error { n++; return nil })
	if err != nil || done || n != 2 {
		t.Fatalf("done %v err %v n %d", done, err, n)
	}
	done, err = netlinkMessages(nlmsg(nlmsgDone, 7, []byte{0, 0, 0, 0}), 7, nil)
	if !done || err != nil {
		t.Fatalf("DONE: %v %v", done, err)
	}
	d := make([]byte, 4)
	binary.NativeEndian.PutUint32(d, uint32(-2&0xffffffff))
	if _, err := netlinkMessages(nlmsg(nlmsgDone, 7, d), 7, nil); err == nil {
		t.Fatal("DONE with an errno accepted")
	}
	e := make([]byte, 20)
	binary.NativeEndian.PutUint32(e, uint32(-2&0xffffffff))
	if _, err := netlinkMessages(nlmsg(nlmsgError, 7, e), 7, nil); err == nil || err.Error() != "sock_diag: errno -2" && err.Error() != "sock_diag: errno 2" {
		t.Fatalf("ERROR: %v", err)
	}
	if _, err := netlinkMessages(buf[:20], 7, func([]byte) error { return nil }); err == nil {
		t.Fatal("truncated buffer accepted")
	}
	req := diagRequest(2, 6, 0xfff, 0, 3)
	if len(req) != 72 || binary.NativeEndian.Uint32(req) != 72 {
		t.Fatalf("request length %d", len(req))
	}
}

func FuzzNetlinkDiag(f *testing.F) {
	l := netip.MustParseAddrPort("[::1]:1")
	m := inetDiagMsg(10, 1, 1, 2, l, l, 1, 100, 1, 2, 3, 4)
	f.Add(append(nlmsg(sockDiagByFamily, 1, append(m, 8, 0, 2, 0, 1, 2, 3, 4)), nlmsg(nlmsgDone, 1, []byte{0, 0, 0, 0})...))
	f.Add([]byte{255, 255, 255, 255, 20, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var socks []sock.Socket
		netlinkMessages(b, 1, func(p []byte) error {
			for _, proto := range []sock.Proto{sock.ProtoTCP, sock.ProtoUDP, sock.ProtoRaw} {
				if s, err := decodeInetDiag(p, proto); err == nil {
					socks = append(socks, s)
				}
			}
			return nil
		})
		fixRequestUIDs(socks)
	})
}

// TestFastOnFixtureTree: with Root set, Fast reads /proc files like
// Sockets does, owners included.
func TestFastOnFixtureTree(t *testing.T) {
	root := "../cmd/bpfstat/testdata/zoo"
	opts := Options{Root: root, Owners: true}
	want, err := Sockets(opts)
	if err != nil {
		t.Skip("fixture tree not readable:", err)
	}
	got, err := Fast(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Fast differs from Sockets on %s:\n got %+v\nwant %+v", root, got, want)
	}
}

func TestParseSockstatHint(t *testing.T) {
	b := []byte("sockets: used 300\nTCP: inuse 100 orphan 0 tw 20 alloc 150 mem 3\nUDP: inuse 5 mem 1\nUDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 7 memory 0\n")
	if n := parseSockstatHint(b); n != 126 {
		t.Fatalf("hint = %d, want 126", n)
	}
}
