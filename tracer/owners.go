package tracer

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/bpfstat/bpfstat/bpf"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// Process records: the kernel's process events, consumed by the owner
// join and never returned by Read.
const (
	kindExec = Kind(bpf.BpfstatEventKindEVENT_EXEC) // PID exec'd; Comm is its new name
	kindExit = Kind(bpf.BpfstatEventKindEVENT_EXIT) // PID exited
	kindFork = Kind(bpf.BpfstatEventKindEVENT_FORK) // PID forked process TID
)

// KindDisown is the kernel's EVENT_DISOWN: an index out of range here if not.
var _ = [1]struct{}{}[KindDisown-Kind(bpf.BpfstatEventKindEVENT_DISOWN)]

// owners joins owners into the events the kernel sends without one.
//
// The kernel reports the calling process on events raised by a system
// call (socket, bind, listen, connect, accept), and no owner on the
// others: TCP state changes, which often run in softirq context on behalf
// of nobody in particular, and releases. owners remembers, by socket
// cookie, who last created, bound, connected or accepted each socket, and
// who listens on each port (a passive connection is the listener's until
// accept(2)), and fills them in; from the process records it knows comms
// set by exec, and which owners exited and which child they left (a
// daemon's fork and exit: the child inherits its sockets, unless no
// descriptor is left).
//
// It also remembers each socket's inode and network namespace, which the
// cgroup hooks cannot read, and the addresses of sockets whose close is
// reported by the release hook, which cannot read them either.
//
// Events are joined in the order the kernel queued them; an event lost to
// a full ring leaves what it would have taught unknown (owners missing,
// not wrong, unless a later owner change was lost).
type owners struct {
	socks     map[uint64]*sockRec
	spare     []*sockRec // freed records, for reuse
	addrs     map[uint64]addrPair
	listeners map[listenKey]listener
	procs     map[int32]procRec
	// holds says whether a process holds a socket (by inode), and at
	// which descriptor (procHolds; tests replace it).
	holds func(pid, fd int32, inode uint64) (int32, bool)
	// ignore drops events owned by this process (Options.IgnorePID).
	ignore int32
	// dups counts state changes dropped as reported twice: the kernel's
	// state_tp_btf_nested takes the events state_tp_btf skipped, and in
	// a rare interleaving (an interrupt between the two programs' runs
	// for one event) one it did not. A transition cannot follow itself.
	dups atomic.Uint64
	// ignored counts events dropped as the ignored process's.
	ignored atomic.Uint64
}

type ownerRec struct {
	pid, tid int32
	uid      uint32
	fd       int32
	comm     string
}

type sockRec struct {
	owner ownerRec
	// ownedAt is when owner took the socket (an event's Time).
	ownedAt uint64
	// from is the first owner that let the socket go to an heir: the one
	// the kernel keeps naming (strategies without BTF keep owners of
	// their own), or its heir once it exits.
	from int32
	// start is when the socket was created, or a passive open's SYN
	// arrived; 0 if the tracer was not there to see it.
	start uint64
	inode uint64
	netns uint64
	// last is the last TCP transition seen (old<<8 | new): the kernel's
	// second state program may report one again (see dups).
	last uint16
}

type addrPair struct{ local, remote netip.AddrPort }

type listenKey struct {
	netns uint64
	port  uint16
}

type listener struct {
	owner  ownerRec
	cookie uint64
	from   int32 // the owner it had before an accept or a disown: the kernel's, without BTF
	handed bool  // the listener itself went to owner (disown), not only its passive opens
}

type procRec struct {
	comm   string // set by exec; "" if none seen
	exited bool
	heir   int32  // the most recent child process
	heirAt uint64 // when it was forked
}

// Bounds, should closes or exits go missing (lost events): past them a
// table starts afresh.
const (
	maxSocks = 1 << 20
	maxProcs = 1 << 16
	maxSpare = 1 << 12
)

func newOwners(ignore int32) *owners {
	return &owners{
		socks:     make(map[uint64]*sockRec),
		addrs:     make(map[uint64]addrPair),
		listeners: make(map[listenKey]listener),
		procs:     make(map[int32]procRec),
		holds:     procHolds,
		ignore:    ignore,
	}
}

// join completes ev from what earlier events taught and learns from it.
// orphan says the socket has no descriptor left (its owner is not
// inherited). It returns false for events not to be returned: process
// records, and events owned by the ignored process.
func (o *owners) join(ev *Event, orphan bool) bool {
	switch ev.Kind {
	case kindExec, kindExit, kindFork:
		o.process(ev)
		return false
	}
	switch ev.Family {
	case sock.FamilyUnix, sock.FamilyInet, sock.FamilyInet6:
	default:
		return false // not netstat's (netlink, packet, ...)
	}
	if ev.Kind == KindDisown {
		return o.disown(ev)
	}
	if ev.Kind == KindConnect && ev.Proto != sock.ProtoTCP && ev.Proto != sock.ProtoUnix && ev.NewState == sock.StateClose {
		// connect(AF_UNSPEC): no peer any more (an IPv6 socket keeps
		// its old peer address in the kernel)
		ev.Remote = netip.AddrPortFrom(unspecified(ev.Family), 0)
	}
	if ev.Cookie != 0 && !o.socket(ev, orphan) {
		o.dups.Add(1)
		return false
	}
	if ev.Cookie == 0 && ev.Proto == sock.ProtoTCP && (ev.Kind == KindState || ev.Kind == KindClose) {
		// A passive open without a cookie (no BTF).
		if l, ok := o.handedListener(ev); ok {
			o.fill(ev, l, orphan)
		}
	}
	if ev.PID != 0 {
		if p, ok := o.procs[ev.PID]; ok && p.comm != "" {
			ev.Comm = p.comm
		}
	}
	if o.ignore != 0 && ev.PID == o.ignore {
		o.ignored.Add(1)
		return false
	}
	return true
}

func (o *owners) process(ev *Event) {
	if len(o.procs) >= maxProcs {
		clear(o.procs)
	}
	switch ev.Kind {
	case kindExec:
		p := o.procs[ev.PID]
		p.comm = ev.Comm
		o.procs[ev.PID] = p
	case kindExit:
		p := o.procs[ev.PID]
		p.exited = true
		o.procs[ev.PID] = p
	case kindFork:
		p := o.procs[ev.PID]
		p.heir, p.heirAt = ev.TID, ev.Time
		o.procs[ev.PID] = p
		delete(o.procs, ev.TID) // a recycled pid starts afresh
	}
}

// tcpConnect says ev is the transition a plain TCP connect(2) makes, from
// which the reader makes the connect event (the kernel sends no record of
// its own for it).
func tcpConnect(ev *Event) bool {
	return ev.Kind == KindState && ev.Proto == sock.ProtoTCP && !ev.MPTCP &&
		ev.OldState == sock.StateClose && ev.NewState == sock.StateSynSent
}

// passiveEntry says ev is a TCP socket's first record out of SYN_RECV
// where the socket was not seen entering it: a passive child, whose
// LISTEN->SYN_RECV the kernel sends no record for (a socket that entered
// SYN_RECV from SYN_SENT, a simultaneous open, was seen doing so). A
// repeat of a transition already reported is not one.
func (o *owners) passiveEntry(ev *Event) bool {
	if ev.Proto != sock.ProtoTCP || ev.OldState != sock.StateSynRecv || ev.Kind != KindState && ev.Kind != KindClose {
		return false
	}
	r, known := o.socks[ev.Cookie]
	return !known || sock.State(r.last&0xff) != sock.StateSynRecv && r.last != stateChange(ev)
}

// stateChange is ev's TCP state change as sockRec.last keeps it.
func stateChange(ev *Event) uint16 { return uint16(ev.OldState)<<8 | uint16(ev.NewState) }

// heir follows exited owners to the child each left, up to a double fork.
func (o *owners) heir(pid int32) int32 {
	for range 3 {
		p, ok := o.procs[pid]
		if !ok || !p.exited || p.heir == 0 {
			break
		}
		pid = p.heir
	}
	return pid
}

// socket joins ev with what is known of its socket; false if ev repeats
// the transition just reported.
func (o *owners) socket(ev *Event, orphan bool) bool {
	c := ev.Cookie
	closing := ev.Kind == KindClose
	r, known := o.socks[c]
	if !known {
		r = o.newRec()
	}
	if (ev.Kind == KindState || closing) && ev.Proto == sock.ProtoTCP && ev.NewState != 0 {
		t := stateChange(ev)
		if known && r.last == t {
			return false
		}
		r.last = t
	}
	if !known {
		// A socket's life starts at socket(2), or on entering SYN_RECV
		// for a passive open (an event the reader makes from the child's
		// first record); from anything else, it started unseen.
		if ev.Kind == KindSocket || ev.NewState == sock.StateSynRecv && ev.OldState == sock.StateListen {
			r.start = ev.Time
		}
	}
	if ev.Inode != 0 {
		r.inode = ev.Inode
	} else {
		ev.Inode = r.inode
	}
	if ev.NetNS != 0 {
		r.netns = ev.NetNS
	} else {
		ev.NetNS = r.netns
	}
	tcp := ev.Proto == sock.ProtoTCP

	switch {
	case ev.PID != 0:
		// Raised by the owner's own system call, or (without BTF) owned
		// in the kernel: a system call's caller owns the socket from now.
		switch ev.Kind {
		case KindSocket, KindBind, KindListen, KindConnect, KindAccept:
			if r.owner.pid != ev.PID {
				r.ownedAt = ev.Time // since when its children inherit it
			}
			r.owner = ownerRec{ev.PID, ev.TID, ev.UID, ev.FD, ev.Comm}
		default:
			// The kernel's owner (strategies without BTF, MPTCP) may be
			// one that has let go since.
			switch {
			case r.from != 0 && r.owner.pid != 0 && (ev.PID == r.from || ev.PID == o.heir(r.from)):
				o.fill(ev, r.owner, orphan)
			case tcp:
				// (an MPTCP listener's TCP socket is owned through the
				// MPTCP socket)
				if l, ok := o.handedListener(ev); ok {
					o.fill(ev, l, orphan)
				}
			}
		}
	case r.owner.pid != 0:
		o.fill(ev, r.owner, orphan)
	case tcp && (ev.NewState == sock.StateSynRecv || ev.OldState == sock.StateSynRecv):
		// A passive open not yet accepted: its listener's.
		if l, ok := o.listeners[portOf(ev)]; ok {
			r.owner, r.ownedAt = l.owner, ev.Time
			o.fill(ev, l.owner, orphan)
		}
	}

	switch {
	case !tcp || ev.Kind == KindBind:
		// Remembered for a close from the release hook, which cannot
		// read addresses: UDP and RAW sockets (a RAW one's protocol is its
		// port from the start), TCP ones never connected.
		if ev.Kind == KindBind || ev.Kind == KindConnect || ev.Kind == KindSocket && !unset(ev.Local) {
			a := o.addrs[c]
			if !unset(ev.Local) {
				a.local = ev.Local
			}
			switch {
			case !unset(ev.Remote):
				a.remote = ev.Remote
			case ev.Kind == KindConnect && !tcp:
				a.remote = netip.AddrPort{} // connect(AF_UNSPEC): no peer any more
			}
			o.addrs[c] = a
		}
	case ev.Kind == KindState && ev.OldState == sock.StateClose:
		delete(o.addrs, c) // the state hook reads a TCP socket's addresses
	}

	if tcp && ev.PID != 0 && ev.Kind == KindListen {
		lo := ownerRec{ev.PID, ev.TID, ev.UID, -1, ev.Comm}
		o.listeners[portOf(ev)] = listener{owner: lo, cookie: c}
	}
	if tcp && ev.PID != 0 && ev.Kind == KindAccept {
		// Whoever accepts holds the listener: passive opens not yet
		// accepted are theirs from now on (a prefork server's workers,
		// a listener its creator handed on).
		k := portOf(ev)
		if l, ok := o.listeners[k]; ok && l.owner.pid != ev.PID {
			if l.from == 0 {
				l.from = l.owner.pid // as the kernel's own owners still have it
			}
			l.owner = ownerRec{ev.PID, ev.TID, ev.UID, -1, ev.Comm}
			o.listeners[k] = l
		}
	}
	if tcp && ev.OldState == sock.StateListen && ev.NewState == sock.StateClose {
		k := portOf(ev)
		if l, ok := o.listeners[k]; ok && l.cookie == c {
			delete(o.listeners, k)
		}
	}

	if closing {
		if ev.Lifetime == 0 && r.start != 0 && ev.Time > r.start {
			ev.Lifetime = time.Duration(ev.Time - r.start)
		}
		if a, ok := o.addrs[c]; ok {
			if unset(ev.Local) && a.local.IsValid() {
				ev.Local = a.local
			}
			if unset(ev.Remote) && a.remote.IsValid() {
				ev.Remote = a.remote
			}
			delete(o.addrs, c)
		}
		if known {
			delete(o.socks, c)
		}
		o.freeRec(r)
		return true
	}
	if !known {
		if len(o.socks) >= maxSocks {
			clear(o.socks)
			clear(o.addrs)
		}
		o.socks[c] = r
	}
	return true
}

// handedListener is, for a TCP change the kernel names the port's
// listener's old owner on (it keeps owners by the listener's port without
// BTF), the listener's owner now: a passive open not yet accepted, or the
// listener itself when it was handed on.
func (o *owners) handedListener(ev *Event) (ownerRec, bool) {
	l := o.listeners[portOf(ev)]
	if l.from == 0 || ev.PID != l.from {
		return ownerRec{}, false
	}
	switch {
	case ev.OldState == sock.StateSynRecv || ev.NewState == sock.StateSynRecv:
	case l.handed && (ev.OldState == sock.StateListen || ev.NewState == sock.StateListen):
	default:
		return ownerRec{}, false
	}
	return l.owner, true
}

// portOf is the key of ev's local port in owners.listeners.
func portOf(ev *Event) listenKey { return listenKey{ev.NetNS, ev.Local.Port()} }

// disown handles a process closing its descriptor of a socket another one
// still holds. If the socket was that process's and it has an heir that
// holds it too (its most recent child, forked after it got the socket:
// for sockets not followed here, unix ones, the child's descriptors say),
// the heir owns it from now on, and ev becomes the KindDisown event that
// says so. Otherwise nothing is known to have changed: false.
func (o *owners) disown(ev *Event) bool {
	p, ok := o.procs[ev.PID]
	if !ok || p.heir == 0 {
		return false
	}
	h := o.procs[p.heir] // exec'd if comm is set
	if h.exited {
		return false
	}
	var r *sockRec
	if ev.Cookie != 0 {
		r = o.socks[ev.Cookie]
	}
	known := r != nil && r.owner.pid != 0 // whose it is, and since when
	switch {
	case known && (r.owner.pid != ev.PID || p.heirAt < r.ownedAt):
		return false // not the closer's, or the child was forked before it was
	case ev.Cookie == 0 && ev.Proto == sock.ProtoTCP:
		// A passive open without BTF: the kernel keeps naming its old
		// owner on its changes, which the reader cannot tell apart.
		return false
	}
	fd, held := o.holds(p.heir, ev.FD, ev.Inode)
	switch {
	case known:
		if !held {
			if h.comm != "" {
				// Not (or no longer) among the child's descriptors, and
				// it ran a new program since the fork, which drops
				// sockets opened close-on-exec: not known to hold it.
				return false
			}
			fd = ev.FD // gone already, or not to be seen: as forked
		}
	case !held:
		return false // a socket not followed here: only the child's descriptors tell
	}
	heir := ownerRec{pid: p.heir, tid: p.heir, uid: ev.UID, fd: fd, comm: ev.Comm}
	if h.comm != "" {
		heir.comm = h.comm
	}
	if r != nil {
		r.owner, r.ownedAt = heir, ev.Time
		if r.from == 0 {
			r.from = ev.PID // the kernel's owner, without BTF, from now on
		}
		k := portOf(ev)
		if l, ok := o.listeners[k]; ok && l.cookie == ev.Cookie {
			if l.from == 0 {
				l.from = ev.PID
			}
			l.owner, l.handed = heir, true
			l.owner.fd = -1
			o.listeners[k] = l
		}
	}
	ev.From = ev.PID
	ev.PID, ev.TID, ev.UID, ev.FD, ev.Comm = heir.pid, heir.tid, heir.uid, heir.fd, heir.comm
	return o.ignore == 0 || ev.PID != o.ignore
}

// newRec returns a zeroed socket record, reusing a freed one if it can:
// records are kept by pointer, so that an event updates its socket's in
// place rather than copying it out of the map and back.
func (o *owners) newRec() *sockRec {
	if n := len(o.spare); n > 0 {
		r := o.spare[n-1]
		o.spare = o.spare[:n-1]
		*r = sockRec{}
		return r
	}
	return new(sockRec)
}

func (o *owners) freeRec(r *sockRec) {
	if len(o.spare) < maxSpare {
		o.spare = append(o.spare, r)
	}
}

func unset(a netip.AddrPort) bool {
	return !a.IsValid() || a.Port() == 0 && a.Addr().IsUnspecified()
}

// fill gives ev the owner ow, or the child it left if it exited (unless
// the socket is an orphan, which nobody inherits).
func (o *owners) fill(ev *Event, ow ownerRec, orphan bool) {
	ev.PID, ev.TID, ev.UID, ev.FD, ev.Comm = ow.pid, ow.tid, ow.uid, ow.fd, ow.comm
	if orphan {
		return
	}
	if h := o.heir(ow.pid); h != ow.pid {
		ev.PID, ev.TID = h, h
	}
}

// unspecified is the family's any-address (0.0.0.0 or ::).
func unspecified(f sock.Family) netip.Addr {
	if f == sock.FamilyInet6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}
