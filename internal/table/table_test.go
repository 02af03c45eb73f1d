package table

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/tracer"
)

const ns1 = 4026531840

var (
	lo4    = netip.MustParseAddrPort("127.0.0.1:8080")
	peer4  = netip.MustParseAddrPort("127.0.0.1:40000")
	any4   = netip.MustParseAddrPort("0.0.0.0:0")
	lo6    = netip.MustParseAddrPort("[::1]:53")
	procfn = func(pid int32) (string, uint32, bool) { return "prog" + string(rune('0'+pid%10)), 1000, true }
)

func ev(k tracer.Kind, t uint64, cookie uint64, mod ...func(*tracer.Event)) tracer.Event {
	e := tracer.Event{Kind: k, Time: t, Cookie: cookie, NetNS: ns1, Family: sock.FamilyInet, Proto: sock.ProtoTCP, FD: -1}
	for _, m := range mod {
		m(&e)
	}
	return e
}

func withPID(pid int32, fd int32) func(*tracer.Event) {
	return func(e *tracer.Event) { e.PID, e.FD, e.Comm, e.UID = pid, fd, "comm", 1000 }
}
func withState(o, n sock.State) func(*tracer.Event) {
	return func(e *tracer.Event) { e.OldState, e.NewState = o, n }
}
func withAddr(l, r netip.AddrPort) func(*tracer.Event) {
	return func(e *tracer.Event) { e.Local, e.Remote = l, r }
}
func udp(e *tracer.Event) { e.Proto = sock.ProtoUDP }
func unixSock(e *tracer.Event) {
	e.Proto, e.Family, e.Type = sock.ProtoUnix, sock.FamilyUnix, sock.TypeStream
}
func inode(i uint64) func(*tracer.Event) {
	return func(e *tracer.Event) { e.Inode = i }
}

func list(t *Table) []sock.Socket {
	s := t.Sockets(Query{NetNS: ns1, Owners: true})
	sort.Slice(s, func(i, j int) bool { return s[i].Cookie < s[j].Cookie })
	return s
}

func TestTCPLifecycle(t *testing.T) {
	tb := New(procfn)
	tb.ApplyAll([]tracer.Event{
		ev(tracer.KindSocket, 1, 10, withPID(100, 3), inode(500)),
		ev(tracer.KindBind, 2, 10, withPID(100, 3), withAddr(lo4, any4)),
	})
	if got := list(tb); len(got) != 0 {
		t.Fatalf("bound TCP socket is listed: %+v", got)
	}
	tb.Apply(ptr(ev(tracer.KindListen, 3, 10, withPID(100, 3), withState(sock.StateClose, sock.StateListen))))
	got := list(tb)
	if len(got) != 1 || got[0].State != sock.StateListen || got[0].Local != lo4 || got[0].Inode != 500 {
		t.Fatalf("after listen: %+v", got)
	}
	if o := got[0].Owners; len(o) != 1 || o[0].PID != 100 || o[0].FD != 3 || o[0].Program != "prog0" {
		t.Fatalf("owners = %+v", o)
	}
	// A passive child: state events in softirq (owner = listener's
	// owner from sk_storage), then accept in process context.
	tb.ApplyAll([]tracer.Event{
		ev(tracer.KindState, 4, 11, withAddr(lo4, peer4), withState(sock.StateSynRecv, sock.StateEstablished), withPID(100, -1)),
		ev(tracer.KindAccept, 5, 11, withAddr(lo4, peer4), withState(0, sock.StateEstablished), withPID(100, 4), inode(501)),
		ev(tracer.KindState, 6, 11, withState(sock.StateEstablished, sock.StateCloseWait)),
	})
	got = list(tb)
	if len(got) != 2 || got[1].State != sock.StateCloseWait || got[1].Remote != peer4 || got[1].Owners[0].FD != 4 || got[1].Inode != 501 {
		t.Fatalf("after accept: %+v", got)
	}
	tb.Apply(ptr(ev(tracer.KindClose, 7, 11, withState(sock.StateLastAck, sock.StateClose))))
	if got = list(tb); len(got) != 1 || got[0].Cookie != 10 {
		t.Fatalf("after close: %+v", got)
	}
	// A reordered, older event must not resurrect nor roll back.
	tb.Apply(ptr(ev(tracer.KindState, 2, 10, withState(sock.StateClose, sock.StateSynSent))))
	if got = list(tb); got[0].State != sock.StateListen {
		t.Fatalf("older event rolled the state back: %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestUDPAndUnixVisibility(t *testing.T) {
	tb := New(nil)
	tb.Apply(ptr(ev(tracer.KindSocket, 1, 20, udp, withPID(7, 5))))
	if len(list(tb)) != 0 {
		t.Fatal("unbound UDP socket listed")
	}
	tb.Apply(ptr(ev(tracer.KindBind, 2, 20, udp, withAddr(netip.MustParseAddrPort("127.0.0.1:53"), netip.AddrPort{}))))
	got := list(tb)
	if len(got) != 1 || got[0].State != sock.StateClose || got[0].Local.Port() != 53 || !got[0].Local.Addr().Is4() {
		t.Fatalf("bound UDP: %+v", got)
	}
	if got[0].Owners[0].Program != "comm" {
		t.Fatalf("without ProcInfo the program is the comm: %+v", got[0].Owners)
	}
	tb.Apply(ptr(ev(tracer.KindConnect, 2, 20, udp, withAddr(netip.MustParseAddrPort("127.0.0.1:53"), peer4))))
	if got = list(tb); got[0].State != sock.StateEstablished || got[0].Remote != peer4 {
		t.Fatalf("connected UDP: %+v", got)
	}
	tb.Apply(ptr(ev(tracer.KindConnect, 2, 20, udp, withAddr(netip.MustParseAddrPort("127.0.0.1:53"), any4))))
	if got = list(tb); got[0].State != sock.StateClose || got[0].Remote != any4 {
		t.Fatalf("UDP after connect(AF_UNSPEC): %+v", got)
	}
	tb.Apply(ptr(ev(tracer.KindSocket, 3, 30, unixSock, withPID(7, 6))))
	tb.Apply(ptr(ev(tracer.KindListen, 4, 30, unixSock)))
	got = list(tb)
	if len(got) != 2 || got[1].Proto != sock.ProtoUnix || got[1].UnixFlags&sock.UnixFlagAcceptCon == 0 || got[1].UnixType != sock.TypeStream {
		t.Fatalf("unix listener: %+v", got)
	}
	tb.Apply(ptr(ev(tracer.KindClose, 5, 30, unixSock)))
	tb.Apply(ptr(ev(tracer.KindClose, 5, 20, udp)))
	if got = list(tb); len(got) != 0 {
		t.Fatalf("after close: %+v", got)
	}
	v6 := ev(tracer.KindBind, 6, 40, udp, withAddr(lo6, netip.AddrPort{}))
	v6.Family = sock.FamilyInet6
	tb.Apply(&v6)
	if got = list(tb); len(got) != 1 || got[0].Local != lo6 {
		t.Fatalf("v6 udp: %+v", got)
	}
}

func snapSock(cookie uint64, st sock.State, owners ...sock.Owner) sock.Socket {
	return sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: lo4, Remote: any4, State: st,
		Cookie: cookie, Inode: cookie + 1000, Owners: owners}
}

func TestSeedThenEvents(t *testing.T) {
	tb := New(nil)
	// Events seen before the seed was taken, created after the tracer
	// attached: socket 1 came and went; socket 2 is alive and bound only.
	tb.ApplyAll([]tracer.Event{
		ev(tracer.KindListen, 5, 1, withState(sock.StateClose, sock.StateListen)),
		ev(tracer.KindClose, 6, 1),
		ev(tracer.KindBind, 7, 2, withAddr(lo4, any4), withPID(9, 3)),
	})
	// The snapshot starts at 100: sockets 3 (LISTEN) and 4 (ESTABLISHED)
	// and a TIME_WAIT mini socket, which the table does not keep.
	tw := snapSock(6, sock.StateTimeWait)
	tw.Inode = 0
	tb.Seed(ns1, 100, []sock.Socket{
		snapSock(3, sock.StateListen, sock.Owner{PID: 50, Comm: "srv", Program: "server", UID: 0, FD: 3}),
		snapSock(4, sock.StateEstablished),
		tw,
	})
	// Buffered events, applied after the seed.
	tb.ApplyAll([]tracer.Event{
		// Older than the snapshot: socket 5 was gone when it ran.
		ev(tracer.KindState, 90, 5, withState(sock.StateSynSent, sock.StateEstablished)),
		// Older than the snapshot for a socket it has: the snapshot wins.
		ev(tracer.KindState, 95, 4, withState(sock.StateSynSent, sock.StateFinWait1)),
		// Newer: applies.
		ev(tracer.KindState, 110, 3, withState(sock.StateListen, sock.StateClose)),
		ev(tracer.KindClose, 111, 3),
		ev(tracer.KindState, 120, 7, withAddr(lo4, peer4), withState(sock.StateClose, sock.StateSynSent), withPID(60, 4)),
		ev(tracer.KindListen, 130, 2, withState(sock.StateClose, sock.StateListen)),
	})
	got := list(tb)
	want := map[uint64]sock.State{2: sock.StateListen, 4: sock.StateEstablished, 7: sock.StateSynSent}
	if len(got) != len(want) {
		t.Fatalf("got %d sockets, want %d: %+v", len(got), len(want), got)
	}
	for _, s := range got {
		if want[s.Cookie] != s.State {
			t.Errorf("cookie %d: state %v, want %v", s.Cookie, s.State, want[s.Cookie])
		}
	}
	if got[0].Owners[0].PID != 9 {
		t.Errorf("socket known only from events lost its owner: %+v", got[0])
	}
	if st := tb.Stats(); st.Stale != 2 {
		t.Errorf("stale = %d, want 2", st.Stale)
	}
	if o := tb.OwnersOf(ns1, 0, 1004); o != nil {
		t.Errorf("OwnersOf unowned = %+v", o)
	}
}

func TestOwnersLowestPIDFirst(t *testing.T) {
	tb := New(nil)
	tb.Seed(ns1, 1, []sock.Socket{snapSock(1, sock.StateListen,
		sock.Owner{PID: 30, Program: "b", FD: 4}, sock.Owner{PID: 20, Program: "a", FD: 3})})
	tb.Apply(ptr(ev(tracer.KindState, 2, 1, withPID(10, 7), withState(sock.StateListen, sock.StateListen))))
	o := tb.OwnersOf(ns1, 1, 0)
	if len(o) != 3 || o[0].PID != 10 || o[1].PID != 20 || o[2].PID != 30 || o[1].Program != "a" {
		t.Fatalf("owners = %+v", o)
	}
	n := tb.ForgetPIDs(func(pid int32) bool { return pid == 20 })
	o = tb.OwnersOf(ns1, 1, 0)
	if n != 2 || len(o) != 1 || o[0].PID != 20 || o[0].FD != 3 {
		t.Fatalf("after pruning %d: owners = %+v", n, o)
	}
	if s, ok := tb.Lookup(ns1, 0, 1001, true); !ok || s.Cookie != 1 || len(s.Owners) != 1 {
		t.Fatalf("Lookup by inode = %+v, %v", s, ok)
	}
}

// TestDisown: a disown moves the socket from the process that let go to
// the child that keeps it; the socket's other owners stay.
func TestDisown(t *testing.T) {
	tb := New(nil)
	tb.Seed(ns1, 1, []sock.Socket{snapSock(1, sock.StateEstablished,
		sock.Owner{PID: 20, Program: "a", FD: 3}, sock.Owner{PID: 30, Program: "b", FD: 4})})
	from := func(pid int32) func(*tracer.Event) { return func(e *tracer.Event) { e.From = pid } }
	tb.Apply(ptr(ev(tracer.KindDisown, 2, 1, withPID(40, 3), from(20))))
	o := tb.OwnersOf(ns1, 1, 0)
	if len(o) != 2 || o[0].PID != 30 || o[1].PID != 40 || o[1].FD != 3 {
		t.Fatalf("after 20 let go to 40: owners = %+v", o)
	}
	tb.Apply(ptr(ev(tracer.KindDisown, 3, 1, withPID(50, 4), from(30))))
	tb.Apply(ptr(ev(tracer.KindDisown, 4, 9, withPID(60, 4), from(30)))) // unknown: no entry made
	if o := tb.OwnersOf(ns1, 1, 0); len(o) != 2 || o[0].PID != 40 || o[1].PID != 50 {
		t.Fatalf("after 30 let go to 50: owners = %+v", o)
	}
	if got := list(tb); len(got) != 1 || got[0].State != sock.StateEstablished {
		t.Fatalf("sockets = %+v", got)
	}
}

func TestNamespacesAreSeparate(t *testing.T) {
	tb := New(nil)
	e := ev(tracer.KindListen, 1, 1, withState(sock.StateClose, sock.StateListen))
	tb.Apply(&e)
	e.NetNS = 99
	tb.Apply(&e)
	if n := len(tb.Sockets(Query{NetNS: 99})); n != 1 {
		t.Fatalf("namespace 99 has %d sockets", n)
	}
	if n := len(tb.Sockets(Query{All: true})); n != 2 {
		t.Fatalf("all namespaces: %d sockets", n)
	}
	tb.Seed(99, 5, nil)
	if n := len(tb.Sockets(Query{NetNS: 99})); n != 0 {
		t.Fatalf("stale socket survived a seed: %d", n)
	}
	if !tb.Seeded(99) || tb.Seeded(ns1) {
		t.Fatal("Seeded is wrong")
	}
}

// fakeSource feeds events from a channel and reports a settable loss.
type fakeSource struct {
	ch   chan tracer.Event
	lost atomic.Uint64
}

func (f *fakeSource) ReadBatch(ctx context.Context, dst []tracer.Event) ([]tracer.Event, error) {
	select {
	case ev, ok := <-f.ch:
		if !ok {
			return dst, tracer.ErrClosed
		}
		return append(dst, ev), nil
	case <-ctx.Done():
		return dst, ctx.Err()
	}
}
func (f *fakeSource) Lost() uint64 { return f.lost.Load() }

func TestLiveListThenWatchAndResync(t *testing.T) {
	src := &fakeSource{ch: make(chan tracer.Event)}
	var clock atomic.Uint64
	clock.Store(100)
	var mu sync.Mutex
	world := []sock.Socket{snapSock(1, sock.StateListen)}
	snaps := 0
	inSnap := make(chan struct{})
	release := make(chan struct{})
	l := &Live{
		Table:  New(nil),
		Source: src,
		Now:    clock.Load,
		Ready:  make(chan struct{}),
		Snapshot: func(ctx context.Context) (map[uint64][]sock.Socket, error) {
			mu.Lock()
			snaps++
			first := snaps == 1
			w := append([]sock.Socket(nil), world...)
			mu.Unlock()
			if first {
				inSnap <- struct{}{}
				<-release
			}
			return map[uint64][]sock.Socket{ns1: w}, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	<-inSnap
	// While the snapshot runs, socket 2 appears (after it was read).
	src.ch <- ev(tracer.KindListen, 150, 2, withState(sock.StateClose, sock.StateListen))
	close(release)
	<-l.Ready
	waitFor(t, func() bool { return len(l.Table.Sockets(Query{NetNS: ns1})) == 2 })

	// Lose events: socket 1 closed unseen, socket 3 opened unseen.
	mu.Lock()
	world = []sock.Socket{snapSock(2, sock.StateListen), snapSock(3, sock.StateEstablished)}
	mu.Unlock()
	clock.Store(300)
	src.lost.Store(5)
	waitFor(t, func() bool { return l.Table.Stats().Resyncs == 1 })
	got := list(l.Table)
	if len(got) != 2 || got[0].Cookie != 2 || got[1].Cookie != 3 {
		t.Fatalf("after resync: %+v", got)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// TestLiveRefresh: with nothing reported lost, a table that drifted (a
// close the kernel skipped without counting it) is made right again by
// the periodic refresh.
func TestLiveRefresh(t *testing.T) {
	src := &fakeSource{ch: make(chan tracer.Event)}
	var clock atomic.Uint64
	clock.Store(100)
	var mu sync.Mutex
	world := []sock.Socket{snapSock(1, sock.StateListen), snapSock(2, sock.StateEstablished)}
	l := &Live{
		Table: New(nil), Source: src, Now: clock.Load, Ready: make(chan struct{}),
		Refresh: 20 * time.Millisecond,
		Snapshot: func(ctx context.Context) (map[uint64][]sock.Socket, error) {
			mu.Lock()
			defer mu.Unlock()
			return map[uint64][]sock.Socket{ns1: append([]sock.Socket(nil), world...)}, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	<-l.Ready
	// Socket 2 closes unseen; no loss is reported.
	mu.Lock()
	world = world[:1]
	mu.Unlock()
	clock.Store(200)
	waitFor(t, func() bool { return l.Table.Stats().Refreshes >= 1 })
	if got := list(l.Table); len(got) != 1 || got[0].Cookie != 1 {
		t.Fatalf("after a refresh: %+v", got)
	}
	if st := l.Table.Stats(); st.Resyncs != 0 {
		t.Errorf("a refresh counted as a resync: %+v", st)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		runtime.Gosched()
		sleep()
	}
	t.Fatal("condition not reached")
}

// TestMemoryPerSocket checks the per-socket cost of a table holding 100k
// TCP sockets with one owner each, as the heap sees it.
func TestMemoryPerSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100k sockets")
	}
	const n = 100000
	socks := make([]sock.Socket, n)
	for i := range socks {
		socks[i] = sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished,
			Local:  netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(i)),
			Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 80),
			Cookie: uint64(i + 1), Inode: uint64(i + 100000),
			Owners: []sock.Owner{{PID: int32(1000 + i%6), Comm: "gen", Program: "gen", FD: int32(i)}}}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tb := New(nil)
	tb.Seed(ns1, 1, socks)
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("table heap: %.0f bytes per socket", per)
	// The daemon's budget is 300 bytes of RSS per socket; the GC's
	// headroom and the runtime's retained pages come on top of the heap.
	if per > 150 {
		t.Errorf("table uses %.0f bytes of heap per socket, budget 150", per)
	}
	runtime.KeepAlive(tb)
	runtime.KeepAlive(socks)
}

// TestSeedKeepsNewerEvents: a seed taken while events keep flowing (no
// buffering) must not roll back what an event newer than the seed time
// already recorded.
func TestSeedKeepsNewerEvents(t *testing.T) {
	tb := New(nil)
	tb.Apply(ptr(ev(tracer.KindState, 150, 1, withAddr(lo4, peer4), withState(sock.StateSynSent, sock.StateEstablished), withPID(5, 3))))
	// The snapshot started at 100 and read the socket still in SYN_SENT.
	tb.Seed(ns1, 100, []sock.Socket{snapSock(1, sock.StateSynSent)})
	got := list(tb)
	if len(got) != 1 || got[0].State != sock.StateEstablished || got[0].Owners[0].PID != 5 {
		t.Fatalf("seed rolled back a newer event: %+v", got)
	}
}

// TestInodeSeededSocketMovesToCookie: a unix socket seeded from
// /proc/net/unix (no cookie) and then seen in an event with cookie and
// inode stays one socket.
func TestInodeSeededSocketMovesToCookie(t *testing.T) {
	tb := New(nil)
	tb.Seed(ns1, 10, []sock.Socket{{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, State: sock.UnixConnected,
		UnixType: sock.TypeStream, Inode: 77, Path: "/run/x.sock", Owners: []sock.Owner{{PID: 3, Program: "x", FD: 4}}}})
	tb.Apply(ptr(ev(tracer.KindClose, 20, 555, unixSock, inode(77))))
	if got := list(tb); len(got) != 0 {
		t.Fatalf("close by cookie missed the inode-seeded socket: %+v", got)
	}
	tb.Seed(ns1, 30, []sock.Socket{{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, Inode: 78, Path: "/p"}})
	tb.Apply(ptr(ev(tracer.KindAccept, 40, 556, unixSock, inode(78), withPID(9, 5))))
	got := list(tb)
	if len(got) != 1 || got[0].Cookie != 556 || got[0].Path != "/p" || got[0].Owners[0].PID != 9 {
		t.Fatalf("after the event: %+v", got)
	}
}

func TestOwnersInto(t *testing.T) {
	tb := New(nil)
	tb.Seed(ns1, 1, []sock.Socket{
		snapSock(1, sock.StateListen, sock.Owner{PID: 7, Program: "a", FD: 3}, sock.Owner{PID: 9, Program: "b", FD: 4}),
		snapSock(2, sock.StateEstablished),
	})
	socks := []sock.Socket{{Cookie: 1}, {Cookie: 2}, {Inode: 1001}, {Cookie: 99}}
	if n := tb.OwnersInto(ns1, socks); n != 2 {
		t.Fatalf("found %d", n)
	}
	if len(socks[0].Owners) != 2 || socks[0].Owners[1].Program != "b" || socks[1].Owners != nil || socks[2].Owners[0].PID != 7 || socks[3].Owners != nil {
		t.Fatalf("owners: %+v", socks)
	}
	socks[0].Owners = append(socks[0].Owners, sock.Owner{PID: 1})
	if socks[2].Owners[0].PID != 7 {
		t.Fatal("owner lists share capacity")
	}
}

// TestOwnersDigest: the digest of a dump's owners moves when an owner
// changes and only then.
func TestOwnersDigest(t *testing.T) {
	mk := func(owners ...sock.Owner) *Table {
		tb := New(nil)
		tb.Seed(ns1, 1, []sock.Socket{snapSock(1, sock.StateListen, owners...), snapSock(2, sock.StateEstablished)})
		return tb
	}
	keys := []uint64{1, 2, 3}
	digest := func(tb *Table) uint64 {
		return tb.OwnersDigest(ns1, len(keys), func(i int) (uint64, uint64) { return keys[i], 0 })
	}
	a := sock.Owner{PID: 7, Program: "a", FD: 3}
	base := digest(mk(a))
	if digest(mk(a)) != base {
		t.Error("same owners, another digest")
	}
	for name, o := range map[string]sock.Owner{
		"pid": {PID: 8, Program: "a", FD: 3}, "fd": {PID: 7, Program: "a", FD: 4}, "program": {PID: 7, Program: "b", FD: 3},
	} {
		if digest(mk(o)) == base {
			t.Errorf("%s changed, same digest", name)
		}
	}
	if digest(mk(a, sock.Owner{PID: 9, Program: "b", FD: 1})) == base {
		t.Error("second holder, same digest")
	}
}

// TestGen: the change counter moves with every applied event, seed and
// owner pruning of its namespace, and not for stale events or other
// namespaces.
func TestGen(t *testing.T) {
	tb := New(procfn)
	if g := tb.Gen(ns1); g != 0 {
		t.Fatalf("empty table: Gen = %d", g)
	}
	tb.Apply(&tracer.Event{Kind: tracer.KindSocket, Time: 10, Cookie: 1, NetNS: ns1, Proto: sock.ProtoTCP, Family: sock.FamilyInet, PID: 7, FD: 3})
	g1 := tb.Gen(ns1)
	if g1 == 0 {
		t.Fatal("event did not move Gen")
	}
	other := ev(tracer.KindSocket, 11, 2)
	other.NetNS = ns1 + 1
	tb.Apply(&other)
	if tb.Gen(ns1) != g1 {
		t.Error("another namespace's event moved Gen")
	}
	tb.Seed(ns1, 20, []sock.Socket{{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateListen, Cookie: 1, Inode: 5,
		Owners: []sock.Owner{{PID: 7, Program: "p"}}}})
	g2 := tb.Gen(ns1)
	if g2 <= g1 {
		t.Errorf("seed: Gen %d after %d", g2, g1)
	}
	stale := ev(tracer.KindState, 15, 1, withState(sock.StateListen, sock.StateClose))
	tb.Apply(&stale)
	if tb.Gen(ns1) != g2 {
		t.Error("a stale event moved Gen")
	}
	tb.ForgetPIDs(func(pid int32) bool { return pid != 7 })
	if tb.Gen(ns1) <= g2 {
		t.Error("pruning an owner did not move Gen")
	}
}
