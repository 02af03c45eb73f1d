package tracer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// The owner join, on event sequences as the kernel queues them.

var (
	srvAddr = netip.MustParseAddrPort("127.0.0.1:80")
	cliAddr = netip.MustParseAddrPort("127.0.0.1:40000")
	anyAddr = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
)

const ns = 4026531840

// by is an event raised by process pid's system call (the kernel sets the
// owner); bare is one raised elsewhere (no owner).
func by(ev Event, pid int32, comm string, fd int32) Event {
	ev.PID, ev.TID, ev.UID, ev.Comm, ev.FD = pid, pid, 1000, comm, fd
	return ev
}

func tcpEv(kind Kind, t, cookie uint64, local, remote netip.AddrPort, from, to sock.State) Event {
	return Event{Kind: kind, Time: t, Cookie: cookie, Family: sock.FamilyInet, Proto: sock.ProtoTCP,
		NetNS: ns, Local: local, Remote: remote, OldState: from, NewState: to, FD: -1}
}

func procEv(kind Kind, pid, child int32, comm string) Event {
	return Event{Kind: kind, PID: pid, TID: child, Comm: comm}
}

type joined struct {
	ev   Event
	keep bool
}

func joinAll(o *owners, evs []Event, orphan map[int]bool) []joined {
	out := make([]joined, len(evs))
	for i := range evs {
		ev := evs[i]
		keep := o.join(&ev, orphan[i])
		out[i] = joined{ev, keep}
	}
	return out
}

func wantOwner(t *testing.T, j joined, pid int32, comm string, fd int32) {
	t.Helper()
	if !j.keep {
		t.Errorf("%s %v->%v dropped", j.ev.Kind, j.ev.OldState, j.ev.NewState)
		return
	}
	if j.ev.PID != pid || j.ev.Comm != comm || j.ev.FD != fd {
		t.Errorf("%s %v->%v owned by %d/%q fd %d, want %d/%q fd %d",
			j.ev.Kind, j.ev.OldState, j.ev.NewState, j.ev.PID, j.ev.Comm, j.ev.FD, pid, comm, fd)
	}
}

func TestJoinClient(t *testing.T) {
	o := newOwners(0)
	const c = 11
	evs := []Event{
		by(Event{Kind: KindSocket, Time: 100, Cookie: c, Family: sock.FamilyInet, Proto: sock.ProtoTCP, NetNS: ns, Inode: 555}, 7, "curl", 5),
		by(tcpEv(KindConnect, 110, c, anyAddr, srvAddr, 0, 0), 7, "curl", -1),
		tcpEv(KindState, 120, c, cliAddr, srvAddr, sock.StateClose, sock.StateSynSent),
		tcpEv(KindState, 130, c, cliAddr, srvAddr, sock.StateSynSent, sock.StateEstablished),
		tcpEv(KindState, 140, c, cliAddr, srvAddr, sock.StateEstablished, sock.StateFinWait1),
		tcpEv(KindClose, 1100, c, cliAddr, srvAddr, sock.StateFinWait2, sock.StateClose),
	}
	out := joinAll(o, evs, nil)
	for _, j := range out[2:] {
		wantOwner(t, j, 7, "curl", -1) // the last system call (connect) had no descriptor
		if j.ev.Inode != 555 || j.ev.NetNS != ns {
			t.Errorf("%v->%v: inode %d netns %d, want 555 %d", j.ev.OldState, j.ev.NewState, j.ev.Inode, j.ev.NetNS, ns)
		}
	}
	if got := out[5].ev.Lifetime; got != 1000*time.Nanosecond {
		t.Errorf("lifetime %v, want 1µs (socket(2) to CLOSE)", got)
	}
	if len(o.socks) != 0 || len(o.addrs) != 0 {
		t.Errorf("after close: %d sockets, %d addresses remembered; want none", len(o.socks), len(o.addrs))
	}
}

func TestJoinPassive(t *testing.T) {
	o := newOwners(0)
	const l, c = 20, 21
	evs := []Event{
		by(tcpEv(KindListen, 10, l, srvAddr, anyAddr, sock.StateClose, sock.StateListen), 9, "nginx", 3),
		tcpEv(KindState, 11, l, srvAddr, anyAddr, sock.StateClose, sock.StateListen),
		tcpEv(KindState, 100, c, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
		tcpEv(KindState, 101, c, srvAddr, cliAddr, sock.StateSynRecv, sock.StateEstablished),
		by(tcpEv(KindAccept, 150, c, srvAddr, cliAddr, 0, 0), 10, "worker", 8),
		tcpEv(KindState, 200, c, srvAddr, cliAddr, sock.StateEstablished, sock.StateCloseWait),
		tcpEv(KindClose, 300, c, srvAddr, cliAddr, sock.StateLastAck, sock.StateClose),
	}
	out := joinAll(o, evs, nil)
	wantOwner(t, out[2], 9, "nginx", -1) // the listener's until accepted
	wantOwner(t, out[3], 9, "nginx", -1)
	wantOwner(t, out[5], 10, "worker", 8) // the acceptor's since
	wantOwner(t, out[6], 10, "worker", 8)
	if got := out[6].ev.Lifetime; got != 200 {
		t.Errorf("lifetime %v, want 200ns (SYN to CLOSE)", got)
	}

	// Closing the listener forgets it: a later passive open on the port
	// has no owner rather than a stale one.
	more := joinAll(o, []Event{
		tcpEv(KindClose, 400, l, srvAddr, anyAddr, sock.StateListen, sock.StateClose),
		tcpEv(KindState, 500, 22, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
	}, nil)
	wantOwner(t, more[1], 0, "", -1)
}

func TestJoinInherit(t *testing.T) {
	o := newOwners(0)
	const l, c, d = 30, 31, 32
	evs := []Event{
		by(tcpEv(KindListen, 10, l, srvAddr, anyAddr, sock.StateClose, sock.StateListen), 100, "daemon", 3),
		procEv(kindFork, 100, 200, ""),
		procEv(kindExit, 100, 0, ""),
		procEv(kindExec, 200, 0, "daemon-child"),
		tcpEv(KindState, 50, c, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
		tcpEv(KindState, 60, d, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
	}
	out := joinAll(o, evs, map[int]bool{5: true})
	for i := 1; i <= 3; i++ {
		if out[i].keep {
			t.Errorf("process record %s returned", out[i].ev.Kind)
		}
	}
	wantOwner(t, out[4], 200, "daemon-child", -1) // the exited listener's heir, named by its exec
	wantOwner(t, out[5], 100, "daemon", -1)       // an orphan is nobody's inheritance
}

func TestJoinRelease(t *testing.T) {
	o := newOwners(0)
	const c = 40
	local := netip.MustParseAddrPort("127.0.0.1:5353")
	remote := netip.MustParseAddrPort("127.0.0.2:53")
	udp := func(kind Kind, t uint64, l, r netip.AddrPort) Event {
		return Event{Kind: kind, Time: t, Cookie: c, Family: sock.FamilyInet, Proto: sock.ProtoUDP, NetNS: ns, Local: l, Remote: r, FD: -1}
	}
	evs := []Event{
		by(udp(KindSocket, 10, netip.AddrPort{}, netip.AddrPort{}), 5, "dig", 4),
		by(udp(KindBind, 20, local, anyAddr), 5, "dig", -1),
		by(udp(KindConnect, 30, anyAddr, remote), 5, "dig", -1),
		udp(KindClose, 40, anyAddr, anyAddr),
	}
	out := joinAll(o, evs, map[int]bool{3: true})
	wantOwner(t, out[3], 5, "dig", -1)
	if e := out[3].ev; e.Local != local || e.Remote != remote {
		t.Errorf("release close %v -> %v, want %v -> %v", e.Local, e.Remote, local, remote)
	}
	if len(o.socks) != 0 || len(o.addrs) != 0 {
		t.Errorf("after close: %d sockets, %d addresses remembered; want none", len(o.socks), len(o.addrs))
	}

	// connect(AF_UNSPEC) leaves no peer; a RAW socket's protocol is its
	// port from the start.
	out = joinAll(o, []Event{
		by(udp(KindConnect, 50, local, remote), 5, "dig", -1),
		by(udp(KindConnect, 60, local, anyAddr), 5, "dig", -1),
		udp(KindClose, 70, anyAddr, anyAddr),
	}, nil)
	if e := out[2].ev; e.Local != local || !unset(e.Remote) {
		t.Errorf("close after a disconnect %v -> %v, want %v -> none", e.Local, e.Remote, local)
	}
	rawLocal := netip.MustParseAddrPort("0.0.0.0:1")
	raw := func(kind Kind, t uint64, l netip.AddrPort) Event {
		return Event{Kind: kind, Time: t, Cookie: c + 1, Family: sock.FamilyInet, Proto: sock.ProtoRaw, NetNS: ns, Local: l, Remote: anyAddr, FD: -1}
	}
	out = joinAll(o, []Event{by(raw(KindSocket, 80, rawLocal), 5, "ping", 3), raw(KindClose, 90, anyAddr)}, nil)
	if e := out[1].ev; e.Local != rawLocal {
		t.Errorf("RAW close from %v, want %v", e.Local, rawLocal)
	}
}

func TestJoinIgnore(t *testing.T) {
	o := newOwners(42)
	const c = 50
	out := joinAll(o, []Event{
		by(tcpEv(KindSocket, 10, c, anyAddr, anyAddr, 0, 0), 42, "bpfstat", 6),
		tcpEv(KindState, 20, c, cliAddr, srvAddr, sock.StateClose, sock.StateSynSent),
		by(tcpEv(KindSocket, 30, c+1, anyAddr, anyAddr, 0, 0), 43, "other", 6),
	}, nil)
	if out[0].keep || out[1].keep {
		t.Errorf("events of the ignored process returned: %v %v", out[0].keep, out[1].keep)
	}
	if !out[2].keep {
		t.Errorf("another process's event dropped")
	}
}

func TestJoinUnseenSocket(t *testing.T) {
	// A socket older than the tracer: no owner, no lifetime, no state
	// kept after its close.
	o := newOwners(0)
	out := joinAll(o, []Event{
		tcpEv(KindState, 10, 60, cliAddr, srvAddr, sock.StateEstablished, sock.StateFinWait1),
		tcpEv(KindClose, 20, 60, cliAddr, srvAddr, sock.StateFinWait2, sock.StateClose),
	}, nil)
	wantOwner(t, out[1], 0, "", -1)
	if out[1].ev.Lifetime != 0 {
		t.Errorf("lifetime %v of a socket created unseen, want 0", out[1].ev.Lifetime)
	}
	if len(o.socks) != 0 {
		t.Errorf("%d sockets remembered after close", len(o.socks))
	}
}

// TestJoinDropsRepeats: a transition reported twice (the kernel's second
// state program, in a rare interleaving) is dropped and counted.
func TestJoinDropsRepeats(t *testing.T) {
	o := newOwners(0)
	out := joinAll(o, []Event{
		tcpEv(KindState, 10, 70, cliAddr, srvAddr, sock.StateClose, sock.StateSynSent),
		tcpEv(KindState, 11, 70, cliAddr, srvAddr, sock.StateClose, sock.StateSynSent),
		tcpEv(KindState, 12, 70, cliAddr, srvAddr, sock.StateSynSent, sock.StateEstablished),
		tcpEv(KindState, 13, 71, srvAddr, cliAddr, sock.StateClose, sock.StateSynSent),
	}, nil)
	if !out[0].keep || out[1].keep || !out[2].keep || !out[3].keep {
		t.Errorf("kept %v %v %v %v, want the repeat alone dropped", out[0].keep, out[1].keep, out[2].keep, out[3].keep)
	}
	if o.dups.Load() != 1 {
		t.Errorf("%d repeats counted, want 1", o.dups.Load())
	}
}

// A socket first seen leaving SYN_RECV is a passive child whose entry the
// kernel did not send; one seen entering it (a simultaneous open), or a
// repeat of the exit, is not.
func TestPassiveEntry(t *testing.T) {
	o := newOwners(0)
	child := tcpEv(KindState, 100, 7, srvAddr, cliAddr, sock.StateSynRecv, sock.StateEstablished)
	if !o.passiveEntry(&child) {
		t.Error("unseen child leaving SYN_RECV: not a passive entry")
	}
	entry := child
	entry.OldState, entry.NewState = sock.StateListen, sock.StateSynRecv
	o.join(&entry, false)
	if o.passiveEntry(&child) {
		t.Error("child seen entering SYN_RECV: passive entry again")
	}
	o.join(&child, false)
	if again := child; o.passiveEntry(&again) {
		t.Error("a repeat of SYN_RECV->ESTABLISHED: passive entry")
	}
	simul := tcpEv(KindState, 200, 8, cliAddr, srvAddr, sock.StateSynSent, sock.StateSynRecv)
	o.join(&simul, false)
	est := simul
	est.OldState, est.NewState = sock.StateSynRecv, sock.StateEstablished
	if o.passiveEntry(&est) {
		t.Error("simultaneous open leaving SYN_RECV: passive entry")
	}
	reset := tcpEv(KindClose, 300, 9, srvAddr, cliAddr, sock.StateSynRecv, sock.StateClose)
	if !o.passiveEntry(&reset) {
		t.Error("unseen child reset in SYN_RECV: not a passive entry")
	}
	udp := reset
	udp.Proto = sock.ProtoUDP
	if o.passiveEntry(&udp) {
		t.Error("UDP close: passive entry")
	}
}

// TestJoinDisown: a process closing its descriptor of a socket a child it
// forked still holds hands the socket to that child (a forking server's
// connections, a listener handed to a worker); nothing else does.
func TestJoinDisown(t *testing.T) {
	o := newOwners(0)
	held := map[int32]bool{} // heirs that (for the test's /proc) hold the socket
	o.holds = func(pid, fd int32, inode uint64) (int32, bool) {
		if held[pid] {
			return fd, true
		}
		return -1, false
	}
	const l, c, c2, c3 = 40, 41, 42, 43
	disown := func(cookie uint64, at uint64, local, remote netip.AddrPort) Event {
		ev := by(tcpEv(KindDisown, at, cookie, local, remote, 0, 0), 100, "srv", 5)
		ev.Inode = 777
		return ev
	}
	fork := func(at uint64, child int32) Event {
		ev := procEv(kindFork, 100, child, "")
		ev.Time = at
		return ev
	}
	held[200] = true
	out := joinAll(o, []Event{
		by(tcpEv(KindListen, 10, l, srvAddr, anyAddr, sock.StateClose, sock.StateListen), 100, "srv", 3),
		by(tcpEv(KindAccept, 20, c, srvAddr, cliAddr, 0, 0), 100, "srv", 5),
		fork(30, 200),
		disown(c, 40, srvAddr, cliAddr),
		tcpEv(KindState, 50, c, srvAddr, cliAddr, sock.StateEstablished, sock.StateCloseWait),
		tcpEv(KindClose, 60, c, srvAddr, cliAddr, sock.StateLastAck, sock.StateClose),
	}, nil)
	d := out[3]
	if !d.keep || d.ev.Kind != KindDisown || d.ev.From != 100 {
		t.Fatalf("the forking server's close of its copy: %+v (kept %v), want a disown from 100", d.ev, d.keep)
	}
	wantOwner(t, d, 200, "srv", 5) // the child, at the same descriptor
	wantOwner(t, out[4], 200, "srv", 5)
	wantOwner(t, out[5], 200, "srv", 5)

	// A child forked before the socket was accepted did not inherit it.
	out = joinAll(o, []Event{
		fork(60, 201),
		by(tcpEv(KindAccept, 70, c2, srvAddr, cliAddr, 0, 0), 100, "srv", 6),
		disown(c2, 80, srvAddr, cliAddr),
		tcpEv(KindState, 90, c2, srvAddr, cliAddr, sock.StateEstablished, sock.StateCloseWait),
	}, nil)
	if out[2].keep {
		t.Errorf("disown to a child forked before the accept: %+v", out[2].ev)
	}
	wantOwner(t, out[3], 100, "srv", 6)

	// The listener, made before both forks, goes to the latest child
	// (which holds it), and passive opens not yet accepted with it.
	held[201] = true
	out = joinAll(o, []Event{
		disown(l, 100, srvAddr, anyAddr),
		tcpEv(KindState, 110, c3, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
	}, nil)
	wantOwner(t, out[0], 201, "srv", 5)
	wantOwner(t, out[1], 201, "srv", -1)
	// Without BTF the kernel names the listener's old owner on them.
	out = joinAll(o, []Event{
		by(tcpEv(KindState, 112, 45, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv), 100, "srv", -1),
		by(tcpEv(KindState, 113, 0, srvAddr, cliAddr, sock.StateSynRecv, sock.StateEstablished), 100, "srv", -1), // nor a cookie
	}, nil)
	wantOwner(t, out[0], 201, "srv", -1)
	wantOwner(t, out[1], 201, "srv", -1)

	// Without BTF the kernel reports owners of its own: the one that let
	// go gives way to its heir.
	// So does an MPTCP listener's TCP socket (a cookie of its own, owned
	// in the kernel through the MPTCP socket), by its listener entry.
	sf := by(tcpEv(KindClose, 115, 99, srvAddr, anyAddr, sock.StateListen, sock.StateClose), 100, "srv", -1)
	sf.MPTCP = true
	out = joinAll(o, []Event{sf, by(tcpEv(KindClose, 120, l, srvAddr, anyAddr, sock.StateListen, sock.StateClose), 100, "srv", -1)}, nil)
	wantOwner(t, out[0], 201, "srv", -1)
	wantOwner(t, out[1], 201, "srv", 5)

	// A socket not followed here (unix: no cookie) goes only where the
	// child's descriptors show it; a child that ran a new program and
	// does not show it has not got it.
	u := by(Event{Kind: KindDisown, Time: 130, Family: sock.FamilyUnix, Proto: sock.ProtoUnix, Inode: 888}, 100, "srv", 7)
	out = joinAll(o, []Event{u}, nil)
	wantOwner(t, out[0], 201, "srv", 7)
	held[201] = false
	out = joinAll(o, []Event{u}, nil)
	if out[0].keep {
		t.Errorf("unix disown to a child that does not hold it: %+v", out[0].ev)
	}
	out = joinAll(o, []Event{
		by(tcpEv(KindAccept, 140, 44, srvAddr, cliAddr, 0, 0), 100, "srv", 8),
		fork(150, 202),
		procEv(kindExec, 202, 0, "helper"),
		disown(44, 160, srvAddr, cliAddr),
	}, nil)
	out = out[3:]
	if out[0].keep {
		t.Errorf("disown to an exec'd child that does not hold it: %+v", out[0].ev)
	}
}

// TestJoinAcceptorListens: whoever accepts holds the listener; passive
// opens not yet accepted are the last acceptor's.
func TestJoinAcceptorListens(t *testing.T) {
	o := newOwners(0)
	out := joinAll(o, []Event{
		by(tcpEv(KindListen, 10, 50, srvAddr, anyAddr, sock.StateClose, sock.StateListen), 9, "master", 3),
		tcpEv(KindState, 20, 51, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
		by(tcpEv(KindAccept, 30, 51, srvAddr, cliAddr, 0, 0), 10, "worker", 4),
		tcpEv(KindState, 40, 52, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv),
	}, nil)
	wantOwner(t, out[1], 9, "master", -1)
	wantOwner(t, out[3], 10, "worker", -1)
	// Without BTF the kernel names the listener's creator on them; the
	// listener's own changes stay its creator's.
	out = joinAll(o, []Event{
		by(tcpEv(KindState, 50, 53, srvAddr, cliAddr, sock.StateListen, sock.StateSynRecv), 9, "master", -1),
		by(tcpEv(KindClose, 60, 50, srvAddr, anyAddr, sock.StateListen, sock.StateClose), 9, "master", -1),
	}, nil)
	wantOwner(t, out[0], 10, "worker", -1)
	wantOwner(t, out[1], 9, "master", -1)
}

// TestJoinDisownReview: cases a review found: a second hand-off and an
// exit without BTF (the kernel keeps naming the first owner, or its
// heir), a fork between socket(2) and connect(2), a socket whose owner
// was never seen, other families, and an IPv6 disconnect.
func TestJoinDisownReview(t *testing.T) {
	o := newOwners(0)
	held := map[int32]bool{}
	o.holds = func(pid, fd int32, inode uint64) (int32, bool) { return fd, held[pid] }
	proc := func(kind Kind, at uint64, pid, child int32) Event {
		ev := procEv(kind, pid, child, "")
		ev.Time = at
		return ev
	}
	disown := func(cookie, at uint64, pid int32) Event {
		ev := by(tcpEv(KindDisown, at, cookie, srvAddr, cliAddr, 0, 0), pid, "srv", 5)
		ev.Inode = 777
		return ev
	}
	const c = 60
	out := joinAll(o, []Event{
		by(tcpEv(KindAccept, 10, c, srvAddr, cliAddr, 0, 0), 100, "srv", 5),
		proc(kindFork, 20, 100, 200),
		disown(c, 30, 100),
		proc(kindFork, 40, 200, 300),
		disown(c, 50, 200),
		by(tcpEv(KindState, 60, c, srvAddr, cliAddr, sock.StateEstablished, sock.StateCloseWait), 100, "srv", -1),
		proc(kindFork, 70, 100, 201), // the first owner forks again, then exits:
		proc(kindExit, 80, 100, 0),   // the kernel names its heir, 201
		by(tcpEv(KindClose, 90, c, srvAddr, cliAddr, sock.StateLastAck, sock.StateClose), 201, "srv", -1),
	}, nil)
	wantOwner(t, out[4], 300, "srv", 5)
	wantOwner(t, out[5], 300, "srv", 5)
	wantOwner(t, out[8], 300, "srv", 5)

	// Forked between socket(2) and connect(2): the child has it.
	const d = 61
	out = joinAll(o, []Event{
		by(tcpEv(KindSocket, 100, d, anyAddr, anyAddr, 0, 0), 400, "cli", 5),
		proc(kindFork, 110, 400, 401),
		by(tcpEv(KindConnect, 120, d, cliAddr, srvAddr, 0, 0), 400, "cli", 5),
		disown(d, 130, 400),
	}, nil)
	wantOwner(t, out[3], 401, "srv", 5)

	// Whose it was is unknown: only the child's descriptors tell.
	const e = 62
	joinAll(o, []Event{tcpEv(KindState, 140, e, srvAddr, cliAddr, sock.StateEstablished, sock.StateCloseWait)}, nil)
	out = joinAll(o, []Event{proc(kindFork, 150, 500, 501), disown(e, 160, 500)}, nil)
	if out[1].keep {
		t.Errorf("handed to a child not shown to hold it: %+v", out[1].ev)
	}
	held[501] = true
	out = joinAll(o, []Event{disown(e, 170, 500)}, nil)
	wantOwner(t, out[0], 501, "srv", 5)

	// Netlink and the like are not netstat's.
	nl := by(Event{Kind: KindSocket, Time: 180, Family: 16, Proto: sock.ProtoRaw, Inode: 9}, 7, "ip", 3)
	if out = joinAll(o, []Event{nl}, nil); out[0].keep {
		t.Errorf("netlink socket event returned: %+v", out[0].ev)
	}

	// An IPv6 UDP connect(AF_UNSPEC) leaves the old peer address in the
	// kernel; the event (state CLOSE) says there is none.
	peer6 := netip.MustParseAddrPort("[::1]:53")
	local6 := netip.MustParseAddrPort("[::1]:5353")
	u6 := func(at uint64, remote netip.AddrPort, st sock.State) Event {
		return by(Event{Kind: KindConnect, Time: at, Cookie: 63, Family: sock.FamilyInet6, Proto: sock.ProtoUDP,
			NetNS: ns, Local: local6, Remote: remote, NewState: st, FD: -1}, 8, "dig", 4)
	}
	out = joinAll(o, []Event{
		u6(190, peer6, sock.StateEstablished),
		u6(200, netip.AddrPortFrom(peer6.Addr(), 0), sock.StateClose),
		{Kind: KindClose, Time: 210, Cookie: 63, Family: sock.FamilyInet6, Proto: sock.ProtoUDP, NetNS: ns, FD: -1},
	}, nil)
	if r := out[1].ev.Remote; r != netip.AddrPortFrom(netip.IPv6Unspecified(), 0) {
		t.Errorf("disconnect's peer %v, want [::]:0", r)
	}
	if e := out[2].ev; e.Local != local6 || !unset(e.Remote) {
		t.Errorf("close after an IPv6 disconnect %v -> %v, want %v -> none", e.Local, e.Remote, local6)
	}
}
