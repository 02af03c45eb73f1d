package daemon

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

func tw(port uint16, ticks uint64) sock.Socket {
	return sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateTimeWait,
		Local: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Timer: sock.Timer{Kind: 3, Ticks: ticks}}
}

func TestUnexpired(t *testing.T) {
	at := time.Unix(1000, 0)
	est := sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished}
	d := &dump{res: snapshot.Result{Sockets: []sock.Socket{tw(1, 100), est, tw(2, 300)}}, at: at}
	got, until := unexpired(d, at.Add(500*time.Millisecond))
	if len(got) != 3 || &got[0] != &d.res.Sockets[0] || !until.Equal(at.Add(time.Second)) {
		t.Errorf("nothing expired: %d sockets, copied %v, until %v", len(got), &got[0] != &d.res.Sockets[0], until)
	}
	got, until = unexpired(d, at.Add(2*time.Second))
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
			{Proto: sock.ProtoTCP, State: sock.StateEstablished, RecvQ: 1, Timer: sock.Timer{Kind: 2, Ticks: 500},
				Owners: []sock.Owner{{PID: 1, Program: "a"}}},
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
		{"owner", func(r *snapshot.Result) { r.Sockets[0].Owners = []sock.Owner{{PID: 2, Program: "a"}} }, false},
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
	}
}
