// Package table is bpfstat's live socket table: seeded from a snapshot and
// kept current by tracer events, keyed by socket cookie per network
// namespace.
//
// List-then-watch: the tracer is attached before the first snapshot and
// its events are buffered while the snapshot is taken; Seed then installs
// the snapshot and the buffered events are applied on top. The seed time
// S (CLOCK_MONOTONIC, the clock bpf_ktime_get_ns reads) is taken before
// the first /proc or netlink read, so for an event with time t:
//
//   - t >= S: the event may be newer than what the snapshot saw: apply it.
//   - t < S and the socket is in the table: the snapshot is newer; ignore
//     the event (its effect is already in the snapshot).
//   - t < S and the socket is not in the table: the socket was gone (or
//     invisible) when the snapshot ran; ignore the event, which would
//     otherwise resurrect a closed socket.
//
// When the tracer reports lost events the caller resyncs: a fresh snapshot
// is seeded the same way and Stats.Resyncs counts it.
//
// The table holds what changes only through events: identity, addresses,
// state and owners. TIME_WAIT and NEW_SYN_RECV mini-sockets have no
// events of their own (the kernel swaps the full socket for a timewait or
// request socket without a state hook) and queue sizes and timers change
// with every packet; the daemon takes those from a netlink sock_diag dump
// at query time (see cmd/bpfstat/daemon.go), which also gives the kernel's
// hash order that netstat prints in.
//
// Memory: an entry is a fixed 48-byte struct in a per-namespace map that
// holds IPv4 addresses itself; IPv6 addresses, unix paths and flags, and
// owners beyond the first live in side maps. TestMemoryPerSocket keeps
// the heap per socket in check (the daemon's RSS budget is 300 bytes).
package table

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/tracer"
)

// inodeKey marks a key built from an inode because the source had no
// cookie (e.g. a /proc snapshot). Cookies start at 1 and never get near
// 2^63, inodes are 32-bit on most filesystems and sockfs.
const inodeKey = 1 << 63

// keyOf returns the socket's key in its namespace.
func keyOf(cookie, inode uint64) uint64 {
	if cookie != 0 {
		return cookie
	}
	if inode != 0 {
		return inode | inodeKey
	}
	return 0
}

// owner is one (pid, fd) holding the socket; process names live in the
// per-pid cache.
type owner struct {
	pid int32
	fd  int32
}

// entry flags.
const (
	flagV4      = 1 << iota // addresses are IPv4
	flagVisible             // /proc/net would list it
	flagBound               // bind seen (UDP becomes visible)
	flagNoInode
)

// entry is one socket, packed. Keep it small: it is the per-socket cost.
type entry struct {
	laddr, raddr uint32 // IPv4 addresses (flagV4); else in nsTable.v6
	inode        uint64
	ts           uint64 // time of the newest information (event or seed)
	uid          uint32
	lport, rport uint16
	rawProto     uint16
	family       sock.Family
	proto        sock.Proto
	state        sock.State
	utype        uint8
	flags        uint8
	owner        owner // lowest pid known; extra owners in nsTable.more
}

// addr6 is an IPv6 socket's pair of addresses.
type addr6 struct{ local, remote [16]byte }

// unixInfo is what a unix socket has beyond an entry.
type unixInfo struct {
	path  string
	flags uint32 // sock.UnixFlag*
}

type nsTable struct {
	socks   map[uint64]entry
	byInode map[uint64]uint64   // inode -> key, for sources without cookies
	v6      map[uint64]*addr6   // addresses of entries without flagV4
	unix    map[uint64]unixInfo // unix paths and flags
	more    map[uint64][]owner  // owners beyond the first, by pid
	seeded  uint64              // seed time, 0 if never seeded
	// gen counts changes (events applied, seeds, owners forgotten), so a
	// cache built from this namespace knows when it is out of date.
	gen uint64
}

// Stats are the table's counters.
type Stats struct {
	Sockets    int
	Namespaces int
	Events     uint64
	Stale      uint64 // events older than the seed, ignored
	Resyncs    uint64
	Refreshes  uint64 // periodic reseeds (Live.Refresh)
	Lost       uint64
}

// ProcInfo resolves a process's program name (net-tools': argv[0]'s base
// name) and effective uid; ok false when the process is gone.
type ProcInfo func(pid int32) (program string, uid uint32, ok bool)

type proc struct {
	comm, program string
	uid           uint32
}

// Table is the live socket table. It is safe for concurrent use.
type Table struct {
	mu    sync.RWMutex
	ns    map[uint64]*nsTable
	procs map[int32]proc
	info  ProcInfo
	stats Stats
}

// New returns an empty table. info may be nil (then Program = comm).
func New(info ProcInfo) *Table {
	return &Table{ns: make(map[uint64]*nsTable), procs: make(map[int32]proc), info: info}
}

func (t *Table) nsFor(netns uint64) *nsTable {
	n := t.ns[netns]
	if n == nil {
		n = &nsTable{socks: make(map[uint64]entry), byInode: make(map[uint64]uint64), v6: make(map[uint64]*addr6),
			unix: make(map[uint64]unixInfo), more: make(map[uint64][]owner)}
		t.ns[netns] = n
	}
	return n
}

// visible says whether /proc/net lists a socket in this state: TCP only
// when listening or in the established hash, UDP once bound or connected,
// RAW and unix from creation.
func visible(e *entry) bool {
	switch e.proto {
	case sock.ProtoTCP:
		return e.state != 0 && e.state != sock.StateClose
	case sock.ProtoUDP, sock.ProtoUDPLite:
		return e.flags&flagBound != 0 || e.lport != 0 || e.state == sock.StateEstablished
	}
	return true
}

// setAddr stores socket k's local or remote address. An IPv4 socket's
// addresses fit in the entry (flagV4); an IPv6 socket's go to n.v6, and
// an entry that gets an IPv6 address moves there with the IPv4 one it
// had (as ::ffff:a.b.c.d).
func (n *nsTable) setAddr(k uint64, e *entry, ap netip.AddrPort, remote bool) {
	a := ap.Addr()
	if remote {
		e.rport = ap.Port()
	} else {
		e.lport = ap.Port()
	}
	if e.family != sock.FamilyInet6 && a.Unmap().Is4() && (e.flags&flagV4 != 0 || n.v6[k] == nil) {
		b := a.Unmap().As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if remote {
			e.raddr = v
		} else {
			e.laddr = v
		}
		e.flags |= flagV4
		return
	}
	p := n.v6[k]
	if p == nil {
		p = &addr6{}
		if e.flags&flagV4 != 0 {
			p.local = netip.AddrFrom4(v4Bytes(e.laddr)).As16()
			p.remote = netip.AddrFrom4(v4Bytes(e.raddr)).As16()
		}
		n.v6[k] = p
	}
	e.flags &^= flagV4
	e.laddr, e.raddr = 0, 0
	if remote {
		p.remote = a.As16()
	} else {
		p.local = a.As16()
	}
}

func v4Bytes(v uint32) [4]byte { return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// addrs returns socket k's local and remote addresses.
func (n *nsTable) addrs(k uint64, e *entry) (local, remote netip.AddrPort) {
	if e.flags&flagV4 != 0 {
		return netip.AddrPortFrom(netip.AddrFrom4(v4Bytes(e.laddr)), e.lport),
			netip.AddrPortFrom(netip.AddrFrom4(v4Bytes(e.raddr)), e.rport)
	}
	var p addr6
	if q := n.v6[k]; q != nil {
		p = *q
	}
	return netip.AddrPortFrom(netip.AddrFrom16(p.local), e.lport), netip.AddrPortFrom(netip.AddrFrom16(p.remote), e.rport)
}

// moveSide moves socket from's side records (IPv6 addresses, unix info,
// extra owners) in old to socket to in n.
func (n *nsTable) moveSide(old *nsTable, from, to uint64) {
	if p, ok := old.v6[from]; ok {
		n.v6[to] = p
	}
	if u, ok := old.unix[from]; ok {
		n.unix[to] = u
	}
	if m, ok := old.more[from]; ok {
		n.more[to] = m
	}
}

// rememberProc caches a process's names, resolving the program name when
// the pid is new or its comm changed (exec or pid reuse).
func (t *Table) rememberProc(pid int32, comm string, uid uint32) {
	if pid <= 0 {
		return
	}
	if p, ok := t.procs[pid]; ok && (comm == "" || p.comm == comm) {
		return
	}
	p := proc{comm: comm, program: comm, uid: uid}
	if t.info != nil {
		if prog, puid, ok := t.info(pid); ok {
			p.program, p.uid = prog, puid
		}
	}
	t.procs[pid] = p
}

// Apply folds one tracer event into the table.
func (t *Table) Apply(ev *tracer.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.apply(ev)
}

// ApplyAll folds a batch of events in order under one lock.
func (t *Table) ApplyAll(evs []tracer.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range evs {
		t.apply(&evs[i])
	}
}

func (t *Table) apply(ev *tracer.Event) {
	t.stats.Events++
	k := keyOf(ev.Cookie, ev.Inode)
	if k == 0 {
		return
	}
	n := t.nsFor(ev.NetNS)
	e, ok := n.socks[k]
	if !ok && ev.Cookie != 0 && ev.Inode != 0 {
		// Known by inode only (seeded from /proc/net/unix, which has no
		// cookies): move it under its cookie.
		if k2, found := n.byInode[ev.Inode]; found && k2&inodeKey != 0 {
			if e2, found := n.socks[k2]; found {
				e, ok = e2, true
				n.moveSide(n, k2, k)
				n.remove(k2)
				n.byInode[ev.Inode] = k
				n.socks[k] = e
			}
		}
	}
	if n.seeded != 0 && ev.Time < n.seeded {
		// Older than the snapshot: the snapshot already has its effect,
		// or the socket was gone when the snapshot ran.
		t.stats.Stale++
		return
	}
	if ok && ev.Time < e.ts {
		t.stats.Stale++
		return
	}
	n.gen++
	switch ev.Kind {
	case tracer.KindClose:
		if ok {
			n.remove(k)
		}
		return
	case tracer.KindDisown:
		// From closed its descriptor; the child that keeps the socket
		// owns it. Nothing else about the socket changed.
		if ok {
			n.dropOwners(k, &e, func(o owner) bool { return o.pid == ev.From })
			if ev.PID > 0 {
				t.rememberProc(ev.PID, ev.Comm, ev.UID)
				n.addOwner(k, &e, owner{pid: ev.PID, fd: ev.FD})
			}
			n.socks[k] = e
		}
		return
	}
	if !ok {
		e = entry{family: ev.Family, proto: ev.Proto, owner: owner{fd: -1}}
		if ev.Proto == sock.ProtoUnix {
			e.utype = ev.Type
			e.state = sock.UnixUnconnected
		}
	}
	e.ts = ev.Time
	if ev.Inode != 0 && e.inode != ev.Inode {
		e.inode = ev.Inode
		n.byInode[ev.Inode] = k
	}
	if ev.RawProto != 0 {
		e.rawProto = ev.RawProto
		e.lport = ev.RawProto
	}
	if ev.Family != 0 {
		e.family = ev.Family
	}
	if e.proto != sock.ProtoUnix {
		if ev.Local.IsValid() && (ev.Local.Port() != 0 || !ev.Local.Addr().IsUnspecified() || e.lport == 0) {
			n.setAddr(k, &e, ev.Local, false)
		}
		if ev.Remote.IsValid() {
			n.setAddr(k, &e, ev.Remote, true)
		}
	}
	switch ev.Kind {
	case tracer.KindBind:
		e.flags |= flagBound
		if e.proto == sock.ProtoUDP || e.proto == sock.ProtoUDPLite || e.proto == sock.ProtoRaw {
			if e.state == 0 {
				e.state = sock.StateClose
			}
		}
	case tracer.KindListen:
		e.state = sock.StateListen
		if e.proto == sock.ProtoUnix {
			u := n.unix[k]
			u.flags |= sock.UnixFlagAcceptCon
			n.unix[k] = u
		}
	case tracer.KindConnect:
		if e.proto == sock.ProtoUDP || e.proto == sock.ProtoUDPLite || e.proto == sock.ProtoRaw {
			e.state = sock.StateEstablished
			if ev.NewState == sock.StateClose || ev.Remote.IsValid() && ev.Remote.Port() == 0 && ev.Remote.Addr().IsUnspecified() {
				e.state = sock.StateClose // connect(AF_UNSPEC): disconnected
			}
		} else if e.proto == sock.ProtoUnix {
			e.state = sock.UnixConnected
		}
	case tracer.KindState, tracer.KindAccept:
		if ev.NewState != 0 {
			e.state = ev.NewState
		}
		if ev.Kind == tracer.KindAccept && e.proto == sock.ProtoUnix {
			e.state = sock.UnixConnected
		}
	case tracer.KindSocket:
		if e.state == 0 && (e.proto == sock.ProtoUDP || e.proto == sock.ProtoUDPLite || e.proto == sock.ProtoRaw) {
			e.state = sock.StateClose
		}
	}
	if ev.UID != 0 || !ok {
		e.uid = ev.UID
	}
	if ev.PID > 0 {
		t.rememberProc(ev.PID, ev.Comm, ev.UID)
		n.addOwner(k, &e, owner{pid: ev.PID, fd: ev.FD})
	}
	if visible(&e) {
		e.flags |= flagVisible
	} else {
		e.flags &^= flagVisible
	}
	n.socks[k] = e
}

func (n *nsTable) remove(k uint64) {
	if e, ok := n.socks[k]; ok && e.inode != 0 && n.byInode[e.inode] == k {
		delete(n.byInode, e.inode)
	}
	delete(n.socks, k)
	delete(n.v6, k)
	delete(n.unix, k)
	delete(n.more, k)
}

// lookup finds a socket by cookie, else by inode.
func (n *nsTable) lookup(cookie, inode uint64) (uint64, entry, bool) {
	if cookie != 0 {
		if e, ok := n.socks[cookie]; ok {
			return cookie, e, true
		}
	}
	if inode != 0 {
		if k, ok := n.byInode[inode]; ok {
			if e, ok := n.socks[k]; ok && e.inode == inode {
				return k, e, true
			}
		}
		if e, ok := n.socks[inode|inodeKey]; ok {
			return inode | inodeKey, e, true
		}
	}
	return 0, entry{}, false
}

// addOwner records o as holding the socket, keeping the lowest pid in the
// entry (the one netstat, walking /proc in pid order, would print).
func (n *nsTable) addOwner(k uint64, e *entry, o owner) {
	cur := e.owner
	if cur.pid == 0 {
		e.owner = o
		return
	}
	if cur.pid == o.pid {
		if o.fd >= 0 {
			e.owner.fd = o.fd
		}
		return
	}
	more := n.more[k]
	for i := range more {
		if more[i].pid == o.pid {
			if o.fd >= 0 {
				more[i].fd = o.fd
			}
			return
		}
	}
	if o.pid < cur.pid {
		e.owner, o = o, cur
	}
	more = append(more, o)
	slices.SortFunc(more, func(a, b owner) int { return int(a.pid) - int(b.pid) })
	n.more[k] = more
}

// dropOwners forgets the owners of socket k for which drop is true (the
// lowest pid left stays the entry's) and says how many went.
func (n *nsTable) dropOwners(k uint64, e *entry, drop func(owner) bool) int {
	all := append([]owner{e.owner}, n.more[k]...)
	kept := all[:0]
	for _, o := range all {
		if o.pid != 0 && drop(o) {
			continue
		}
		kept = append(kept, o)
	}
	if len(kept) == 0 {
		e.owner = owner{fd: -1}
	} else {
		e.owner = kept[0]
	}
	if len(kept) > 1 {
		n.more[k] = slices.Clone(kept[1:])
	} else {
		delete(n.more, k)
	}
	return len(all) - len(kept)
}

// Seed installs a snapshot of namespace netns taken at monotonic time
// start (read before the snapshot's first read). Sockets must carry
// cookies or inodes; owners with Program set are trusted as is.
// Invisible sockets (TCP bound but not listening, unbound UDP) that the
// table knows from events and the snapshot cannot show are kept.
func (t *Table) Seed(netns uint64, start uint64, socks []sock.Socket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.ns[netns]
	if old == nil {
		old = &nsTable{}
	}
	delete(t.ns, netns)
	n := t.nsFor(netns)
	n.seeded = start
	n.gen = old.gen + 1
	for i := range socks {
		s := &socks[i]
		if transient(s) {
			continue
		}
		k := keyOf(s.Cookie, s.Inode)
		if k == 0 {
			continue
		}
		if o, ok := old.socks[k]; ok && o.ts >= start {
			// Events newer than the snapshot already updated it.
			continue
		}
		e := entry{
			inode: s.Inode, ts: start, uid: s.UID,
			rawProto: s.RawProto, family: s.Family, proto: s.Proto, state: s.State,
			utype: s.UnixType, owner: owner{fd: -1},
		}
		if s.NoInode {
			e.flags |= flagNoInode
		}
		if s.Proto != sock.ProtoUnix {
			n.setAddr(k, &e, s.Local, false)
			n.setAddr(k, &e, s.Remote, true)
			if s.Proto == sock.ProtoRaw {
				e.lport = s.RawProto
			}
		} else if s.Path != "" || s.UnixFlags != 0 {
			n.unix[k] = unixInfo{path: s.Path, flags: s.UnixFlags}
		}
		e.flags |= flagVisible | flagBound
		for _, o := range s.Owners {
			if o.PID <= 0 {
				continue
			}
			if _, ok := t.procs[o.PID]; !ok || o.Program != "" {
				t.procs[o.PID] = proc{comm: o.Comm, program: o.Program, uid: o.UID}
			}
			n.addOwner(k, &e, owner{pid: o.PID, fd: o.FD})
		}
		n.socks[k] = e
		if e.inode != 0 {
			n.byInode[e.inode] = k
		}
	}
	{
		for k, e := range old.socks {
			if _, ok := n.socks[k]; ok {
				continue
			}
			// Known from events after the seed time, or not listable by a
			// snapshot at all: keep.
			if e.ts >= start || e.flags&flagVisible == 0 {
				n.socks[k] = e
				if e.inode != 0 {
					n.byInode[e.inode] = k
				}
				n.moveSide(old, k, k)
			}
		}
	}
}

// transient reports sockets the table does not hold: TIME_WAIT and
// request sockets, which have no events (see the package comment).
func transient(s *sock.Socket) bool {
	if s.Proto != sock.ProtoTCP {
		return false
	}
	return s.State == sock.StateTimeWait || s.State == sock.StateNewSynRecv ||
		(s.State == sock.StateSynRecv && s.Inode == 0)
}

// Seeded reports whether namespace netns was ever seeded.
func (t *Table) Seeded(netns uint64) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.ns[netns]
	return n != nil && n.seeded != 0
}

// Gen returns namespace netns's change counter: it moves whenever an
// event, a seed or an owner pruning changes what the table holds for it.
func (t *Table) Gen(netns uint64) uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := t.ns[netns]; n != nil {
		return n.gen
	}
	return 0
}

// Namespaces returns the namespaces the table holds sockets for.
func (t *Table) Namespaces() []uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []uint64
	for k := range t.ns {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// CountResync records a resync after lost events.
func (t *Table) CountResync(lost uint64) {
	t.mu.Lock()
	t.stats.Resyncs++
	t.stats.Lost = lost
	t.mu.Unlock()
}

// CountRefresh records a periodic reseed.
func (t *Table) CountRefresh() {
	t.mu.Lock()
	t.stats.Refreshes++
	t.mu.Unlock()
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := t.stats
	s.Namespaces = len(t.ns)
	for _, n := range t.ns {
		s.Sockets += len(n.socks)
	}
	return s
}

// Query selects sockets from the table.
type Query struct {
	// NetNS limits the answer to one namespace; All lists every one.
	NetNS uint64
	All   bool
	// Protos limits the protocols (nil: all).
	Protos []sock.Proto
	// Owners fills Socket.Owners.
	Owners bool
}

// Sockets returns a copy of the visible sockets matching q, in no
// particular order (callers order them, e.g. by a kernel walk).
func (t *Table) Sockets(q Query) []sock.Socket {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []sock.Socket
	for netns, n := range t.ns {
		if !q.All && netns != q.NetNS {
			continue
		}
		if out == nil {
			out = make([]sock.Socket, 0, len(n.socks))
		}
		for k, e := range n.socks {
			if e.flags&flagVisible == 0 || (len(q.Protos) > 0 && !slices.Contains(q.Protos, e.proto)) {
				continue
			}
			out = append(out, t.socket(netns, n, k, &e, q.Owners))
		}
	}
	return out
}

// Lookup returns one socket by cookie, else by inode, in a namespace.
func (t *Table) Lookup(netns, cookie, inode uint64, owners bool) (sock.Socket, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.ns[netns]
	if n == nil {
		return sock.Socket{}, false
	}
	k, e, ok := n.lookup(cookie, inode)
	if !ok {
		return sock.Socket{}, false
	}
	return t.socket(netns, n, k, &e, owners), true
}

// OwnersOf returns the owners of the socket with this cookie (else
// inode): the daemon's hot path, merging owners into a kernel dump.
func (t *Table) OwnersOf(netns, cookie, inode uint64) []sock.Owner {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.OwnersOfLocked(netns, cookie, inode)
}

// RLock and RUnlock let a caller merge many lookups under one read lock
// with OwnersOfLocked.
func (t *Table) RLock()   { t.mu.RLock() }
func (t *Table) RUnlock() { t.mu.RUnlock() }

// OwnersInto sets the Owners of every socket in socks (of namespace
// netns) from the table, matching by cookie, else inode, under one read
// lock and with one allocation for all owner lists. It returns how many
// sockets got owners.
func (t *Table) OwnersInto(netns uint64, socks []sock.Socket) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.ns[netns]
	if n == nil {
		return 0
	}
	pool := make([]sock.Owner, 0, len(socks))
	found := 0
	for i := range socks {
		s := &socks[i]
		k, e, ok := n.lookup(s.Cookie, s.Inode)
		if !ok || e.owner.pid == 0 {
			s.Owners = nil
			continue
		}
		found++
		start := len(pool)
		p := t.procs[e.owner.pid]
		pool = append(pool, sock.Owner{PID: e.owner.pid, Comm: p.comm, Program: p.program, UID: p.uid, FD: e.owner.fd})
		for _, o := range n.more[k] {
			p := t.procs[o.pid]
			pool = append(pool, sock.Owner{PID: o.pid, Comm: p.comm, Program: p.program, UID: p.uid, FD: o.fd})
		}
		s.Owners = pool[start:len(pool):len(pool)]
	}
	return found
}

// OwnersDigest hashes, in order, the owners the table knows for n sockets
// of namespace netns, the i-th found by key(i) (cookie, else inode): two
// equal digests mean OwnersInto would give every socket the same owners
// (pid, fd, uid and names), short of a hash collision.
func (t *Table) OwnersDigest(netns uint64, n int, key func(i int) (cookie, inode uint64)) uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ns := t.ns[netns]
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h = (h ^ v) * prime }
	for i := 0; i < n; i++ {
		mix(uint64(i))
		if ns == nil {
			continue
		}
		c, in := key(i)
		k, e, ok := ns.lookup(c, in)
		if !ok || e.owner.pid == 0 {
			continue
		}
		own := func(j int, o owner) {
			p := t.procs[o.pid]
			mix(uint64(j)<<32 | uint64(uint32(o.pid)))
			mix(uint64(uint32(o.fd))<<32 | uint64(p.uid))
			mix(maphash.String(digestSeed, p.program))
			mix(maphash.String(digestSeed, p.comm))
		}
		own(0, e.owner)
		for j, o := range ns.more[k] {
			own(j+1, o)
		}
	}
	return h
}

var digestSeed = maphash.MakeSeed()

// OwnersOfLocked is OwnersOf for a caller holding RLock.
func (t *Table) OwnersOfLocked(netns, cookie, inode uint64) []sock.Owner {
	n := t.ns[netns]
	if n == nil {
		return nil
	}
	k, e, ok := n.lookup(cookie, inode)
	if !ok {
		return nil
	}
	return t.owners(n, k, &e)
}

func (t *Table) owners(n *nsTable, k uint64, e *entry) []sock.Owner {
	if e.owner.pid == 0 {
		return nil
	}
	more := n.more[k]
	out := make([]sock.Owner, 1, 1+len(more))
	p := t.procs[e.owner.pid]
	out[0] = sock.Owner{PID: e.owner.pid, Comm: p.comm, Program: p.program, UID: p.uid, FD: e.owner.fd}
	for _, o := range more {
		p := t.procs[o.pid]
		out = append(out, sock.Owner{PID: o.pid, Comm: p.comm, Program: p.program, UID: p.uid, FD: o.fd})
	}
	return out
}

func (t *Table) socket(netns uint64, n *nsTable, k uint64, e *entry, owners bool) sock.Socket {
	s := sock.Socket{
		Family: e.family, Proto: e.proto, State: e.state, UID: e.uid, Inode: e.inode,
		RawProto: e.rawProto, UnixType: e.utype,
		NoInode: e.flags&flagNoInode != 0, NetNS: netns,
	}
	if k&inodeKey == 0 {
		s.Cookie = k
	}
	if e.proto == sock.ProtoUnix {
		u := n.unix[k]
		s.Path, s.UnixFlags = u.path, u.flags
	} else {
		s.Local, s.Remote = n.addrs(k, e)
	}
	if owners {
		s.Owners = t.owners(n, k, e)
	}
	return s
}

// ForgetPIDs drops owners whose process is gone (alive reports false) and
// returns how many owner records went. The daemon runs it periodically,
// since the tracer reports no process exits.
func (t *Table) ForgetPIDs(alive func(pid int32) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	dead := make(map[int32]bool)
	for pid := range t.procs {
		if !alive(pid) {
			dead[pid] = true
			delete(t.procs, pid)
		}
	}
	if len(dead) == 0 {
		return 0
	}
	gone := 0
	for _, n := range t.ns {
		for k, e := range n.socks {
			if !dead[e.owner.pid] && len(n.more[k]) == 0 {
				continue
			}
			gone += n.dropOwners(k, &e, func(o owner) bool { return dead[o.pid] })
			n.socks[k] = e
			n.gen++
		}
	}
	return gone
}
