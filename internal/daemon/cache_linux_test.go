package daemon

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// packAll packs socks as refresh does; ok is false if one did not pack.
func packAll(socks []sock.Socket) (recs []crec, ok bool) {
	p := &packer{}
	for i := range socks {
		p.Add(&socks[i])
	}
	return p.recs, p.socks == nil
}

func tw(port uint16, ticks uint64) sock.Socket {
	return sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateTimeWait,
		Local:  netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port),
		Remote: netip.MustParseAddrPort("127.0.0.1:5000"), Timer: sock.Timer{Kind: 3, Ticks: ticks}}
}

func TestUnexpired(t *testing.T) {
	at := time.Unix(1000, 0)
	est := sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished}
	d := &dump{res: snapshot.Result{Sockets: []sock.Socket{tw(1, 100), est, tw(2, 300)}}, at: at}
	got, until := unexpired(d.res.Sockets, d.at, at.Add(500*time.Millisecond))
	if len(got) != 3 || &got[0] != &d.res.Sockets[0] || !until.Equal(at.Add(time.Second)) {
		t.Errorf("nothing expired: %d sockets, copied %v, until %v", len(got), &got[0] != &d.res.Sockets[0], until)
	}
	got, until = unexpired(d.res.Sockets, d.at, at.Add(2*time.Second))
	if len(got) != 2 || got[0].State != sock.StateEstablished || got[1].Local.Port() != 2 || !until.Equal(at.Add(3*time.Second)) {
		t.Errorf("first expired: %+v until %v", got, until)
	}
	if len(d.res.Sockets) != 3 || d.res.Sockets[0].Local.Port() != 1 {
		t.Error("unexpired modified the cached dump")
	}
}

func TestSameDump(t *testing.T) {
	base := func() *snapshot.Result {
		return &snapshot.Result{Sockets: []sock.Socket{
			{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished, RecvQ: 1,
				Local:  netip.MustParseAddrPort("127.0.0.1:80"),
				Remote: netip.MustParseAddrPort("127.0.0.1:4000"),
				Timer:  sock.Timer{Kind: 2, Ticks: 500}, Owners: []sock.Owner{{PID: 1, Program: "a"}}},
			tw(9, 100),
		}}
	}
	t0 := time.Unix(1000, 0)
	a := &dump{res: *base(), start: t0, at: t0.Add(50 * time.Millisecond)}
	for _, tc := range []struct {
		name string
		mod  func(r *snapshot.Result)
		same bool
	}{
		{"identical", func(*snapshot.Result) {}, true},
		{"keepalive timer moved", func(r *snapshot.Result) { r.Sockets[0].Timer.Ticks = 400 }, true},
		{"recv-q", func(r *snapshot.Result) { r.Sockets[0].RecvQ = 2 }, false},
		// Owners are merged from the table at render time; a change of
		// owner moves the table's counter, which refresh compares.
		{"owner", func(r *snapshot.Result) { r.Sockets[0].Owners = []sock.Owner{{PID: 2, Program: "a"}} }, true},
		{"address", func(r *snapshot.Result) { r.Sockets[0].Remote = netip.MustParseAddrPort("127.0.0.2:4000") }, false},
		{"v4-mapped vs v4", func(r *snapshot.Result) {
			r.Sockets[0].Local = netip.MustParseAddrPort("[::ffff:127.0.0.1]:80")
			r.Sockets[0].Remote = netip.MustParseAddrPort("[::ffff:127.0.0.1]:4000")
		}, false},
		{"time-wait timer counted down 0.5 s only: another expiry", func(r *snapshot.Result) { r.Sockets[1].Timer.Ticks = 50 }, false},
		{"time-wait timer went up", func(r *snapshot.Result) { r.Sockets[1].Timer.Ticks = 200 }, false},
		{"order", func(r *snapshot.Result) { r.Sockets[0], r.Sockets[1] = r.Sockets[1], r.Sockets[0] }, false},
		{"one more", func(r *snapshot.Result) { r.Sockets = append(r.Sockets, tw(10, 1)) }, false},
		{"missing table", func(r *snapshot.Result) { r.Missing = []string{"udplite"} }, false},
	} {
		// One second later: the TIME_WAIT timer has counted down by 100
		// ticks, to 0.
		b := &dump{res: *base(), start: t0.Add(time.Second), at: t0.Add(time.Second + 50*time.Millisecond)}
		b.res.Sockets[1].Timer.Ticks = 0
		tc.mod(&b.res)
		if got := sameDump(a, b); got != tc.same {
			t.Errorf("%s: sameDump = %v", tc.name, got)
		}
		// The same with both dumps packed, as the cache keeps them.
		pa, pb := *a, *b
		var ok1, ok2 bool
		pa.recs, ok1 = packAll(a.res.Sockets)
		pb.recs, ok2 = packAll(b.res.Sockets)
		if !ok1 || !ok2 {
			t.Fatalf("%s: dumps do not pack", tc.name)
		}
		pa.res.Sockets, pb.res.Sockets = nil, nil
		if got := sameDump(&pa, &pb); got != tc.same {
			t.Errorf("%s, packed: sameDump = %v", tc.name, got)
		}
	}
}

// TestPackRoundTrip: a packed dump unpacks to the sockets it was made
// of, but for owners and the timers of sockets not in TIME_WAIT (which
// cached listings do not print).
func TestPackRoundTrip(t *testing.T) {
	in := []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateListen, Local: netip.MustParseAddrPort("0.0.0.0:22"),
			Remote: netip.MustParseAddrPort("0.0.0.0:0"), Inode: 1 << 40, Cookie: 7, UID: 1000, SendQ: 4096},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, State: sock.StateEstablished,
			Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:80"), Remote: netip.MustParseAddrPort("[::ffff:127.0.0.1]:4000"),
			RecvQ: 1<<32 - 1, Inode: 9},
		{Family: sock.FamilyInet6, Proto: sock.ProtoUDP, State: sock.StateClose, Local: netip.MustParseAddrPort("[::1]:53"),
			Remote: netip.MustParseAddrPort("[::]:0")},
		{Family: sock.FamilyInet, Proto: sock.ProtoRaw, State: 7, Local: netip.MustParseAddrPort("0.0.0.0:1"),
			Remote: netip.MustParseAddrPort("0.0.0.0:0"), RawProto: 1},
		tw(9, 1234),
	}
	recs, ok := packAll(in)
	if !ok {
		t.Fatal("did not pack")
	}
	out := expand(recs)
	for i := range in {
		if !reflect.DeepEqual(out[i], in[i]) {
			t.Errorf("socket %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
	for _, bad := range []sock.Socket{
		{Proto: sock.ProtoUnix, Path: "/x"},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: netip.MustParseAddrPort("1.2.3.4:5"), Remote: netip.MustParseAddrPort("1.2.3.4:6"), RecvQ: 1 << 32},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP},
	} {
		if _, ok := packAll([]sock.Socket{bad}); ok {
			t.Errorf("%+v packed", bad)
		}
	}
}

// TestPacker: sockets are packed as they come; one that does not pack
// turns the whole dump into sock.Sockets, in order; Truncate drops a
// table that is read again.
func TestPacker(t *testing.T) {
	p := &packer{}
	a, b := tw(1, 10), tw(2, 20)
	p.Add(&a)
	p.Add(&b)
	if p.Len() != 2 || p.socks != nil {
		t.Fatalf("packed: len %d, unpacked %v", p.Len(), p.socks != nil)
	}
	p.Truncate(1)
	odd := sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished,
		Local: netip.MustParseAddrPort("127.0.0.1:1"), Remote: netip.MustParseAddrPort("127.0.0.1:2"), RecvQ: 1 << 33}
	p.Add(&odd)
	if p.Len() != 2 || p.recs != nil || len(p.socks) != 2 {
		t.Fatalf("after an unpackable socket: len %d, recs %d, socks %d", p.Len(), len(p.recs), len(p.socks))
	}
	if p.socks[0].Local.Port() != 1 || p.socks[0].Timer.Ticks != 10 || p.socks[1].RecvQ != 1<<33 {
		t.Errorf("sockets: %+v", p.socks)
	}
	p.Truncate(1)
	if p.Len() != 1 {
		t.Errorf("len %d after Truncate(1)", p.Len())
	}
}
