package daemon

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// The listing cache, and the trade-off it makes (issue 5 asks for it in
// writing).
//
// A v2 query for a numeric listing without -o is answered from a per
// namespace cache of the kernel's sock_diag dump (TCP, UDP, UDP-Lite and
// RAW: queues, states, TIME_WAIT and request sockets, kernel order), with
// owners from the live table merged at dump time, and the rendered output
// is kept per (flags, client uid) until the dump changes: a repeated query
// is a copy of bytes, with no kernel walk and no formatting.
//
// The price is staleness. A background loop re-dumps every namespace that
// was queried in the last cacheIdle:
//   - within refreshMin of a tracer event in that namespace (a socket
//     opened, closed, changed state or owner), plus the dump's own time
//     (~0.1 s at 100k sockets);
//   - at least every refreshMax otherwise, because queue sizes change
//     with every packet and no hook reports them.
//
// Renderings asked for in the last hotFor are redone by the refresher as
// soon as the dump changes, so queries keep finding them ready.
//
// So a listing shows sockets and owners at most ~refreshMin + one dump
// behind the tracer, and Recv-Q/Send-Q values at most refreshMax + one
// dump old (about 1.1 s at 100k sockets). TIME_WAIT sockets whose timer
// ran out since the dump are left out at render time. Timers (-o) move
// continuously, so -o, a request with Fresh (bpfstat --fresh), and every
// listing that needs unix sockets (they include the query's own
// connection, and cost little to read) dump at query time, as v1 does.
// The background dumps cost about what `ss -tan` costs, once a second per
// busy namespace, and only while someone asks.
const (
	refreshMin  = 200 * time.Millisecond
	refreshMax  = time.Second
	refreshTick = 50 * time.Millisecond
	cacheIdle   = 10 * time.Second
	hotFor      = 10 * time.Second // renderings asked for this recently are redone after a change
	maxRenders  = 16
	bigDump     = 10000 // sockets: past this, memory goes back to the system after each refresh
)

// cachedProtos are the tables a cache holds (everything but unix).
var cachedProtos = []sock.Proto{sock.ProtoTCP, sock.ProtoUDP, sock.ProtoUDPLite, sock.ProtoRaw}

// dump is one kernel dump; never modified once made. Its sockets are
// packed in recs (res.Sockets nil) unless one does not fit a crec.
type dump struct {
	res   snapshot.Result
	recs  []crec
	start time.Time // when the dump began
	at    time.Time // when it ended (TIME_WAIT expiry is counted from it)
	// owners is Table.OwnersDigest of the dump's sockets when it was
	// made: owners are merged at render time, so a refresh that finds
	// the same sockets but another digest renders again.
	owners uint64
}

// len is the dump's number of sockets.
func (d *dump) len() int { return len(d.recs) + len(d.res.Sockets) }

// key is the i-th socket's cookie and inode.
func (d *dump) key(i int) (cookie, inode uint64) {
	if d.recs != nil {
		return d.recs[i].cookie, d.recs[i].inode
	}
	return d.res.Sockets[i].Cookie, d.res.Sockets[i].Inode
}

// sockets returns the dump's sockets, without owners; the caller may
// modify the slice only if private says so.
func (d *dump) sockets() (socks []sock.Socket, private bool) {
	if d.recs != nil || d.res.Sockets == nil {
		return expand(d.recs), true
	}
	return d.res.Sockets, false
}

type nsCache struct {
	ns uint64
	// nsFile holds the namespace open while the cache lives: the client
	// that asked has usually exited by the next refresh, and its
	// /proc/PID/ns/net with it. path names it (/proc/self/fd/N); nil and
	// "" for the daemon's own namespace.
	nsFile *os.File
	path   string

	fillMu   sync.Mutex // the first, synchronous dump
	renderMu sync.Mutex // one render at a time, so concurrent misses render once

	mu       sync.Mutex // guards the fields below
	dump     *dump
	gen      uint64    // bumped when dump changes
	checked  time.Time // end of the newest dump (identical or not)
	tableGen uint64    // table.Gen(ns) read before that dump
	used     time.Time // last query
	renders  map[renderKey]*rendered
}

// renderKey is what a rendered listing depends on besides the dump.
type renderKey struct {
	l daemonproto.Listing
	// uid is the client's uid when owners are restricted to it (a
	// non-root client's -p), else 0.
	uid uint32
}

type rendered struct {
	gen    uint64
	until  time.Time // a TIME_WAIT socket in it expires then
	frame  []byte
	status int
	used   time.Time // last asked for (guarded by nsCache.mu)
}

// hotKey is a rendering asked for recently: when the dump changes the
// refresher renders it again at once, so the next query finds it ready.
type hotKey struct {
	key  renderKey
	used time.Time
}

type caches struct {
	mu sync.Mutex
	m  map[uint64]*nsCache
	// Counters for `bpfstat daemon --stats`.
	hits, renders, prerenders, refreshes, changed, fresh atomic.Uint64
	// garbage: a query rendered a big listing (the unpacked dump and its
	// owners are garbage now); the refresher hands the memory back.
	garbage atomic.Bool
}

// holdGC keeps the collector off until the returned func is called (the
// last of overlapping holds restores it). A dump and a render allocate
// tens of MB in a burst; a collector scanning that memory while it is
// being written maps zero pages that each write then replaces with a TLB
// shootdown, which made a first query 2-3x slower. The refresher hands the
// burst's garbage back right after (FreeOSMemory); the daemon's memory
// limit still bounds the heap meanwhile.
func holdGC() (release func()) {
	gcHold.Lock()
	if gcHold.n == 0 {
		gcHold.old = debug.SetGCPercent(-1)
	}
	gcHold.n++
	gcHold.Unlock()
	return func() {
		gcHold.Lock()
		gcHold.n--
		if gcHold.n == 0 {
			debug.SetGCPercent(gcHold.old)
		}
		gcHold.Unlock()
	}
}

var gcHold struct {
	sync.Mutex
	n, old int
}

// listsUnix says whether a listing prints the unix table.
func listsUnix(l *daemonproto.Listing) bool { return l.Arg == 0 || l.Unix }

// Listing answers a v2 listing request with netstat's rendered output.
func (b *Backend) Listing(ctx context.Context, req daemonproto.Request, peer Peer) (daemonproto.Header, []byte) {
	l := req.Listing
	if !req.AllNetns && !req.Fresh && !l.Timers && !listsUnix(l) && b.tableReady() {
		return b.cachedListing(req, peer)
	}
	// Dumped for this query, as a v1 answer, and rendered here.
	b.caches.fresh.Add(1)
	f := flagsOf(l)
	req.Protos, req.Families = nil, nil
	protos, fams := f.Wants()
	for _, p := range protos {
		req.Protos = append(req.Protos, p.String())
	}
	for _, fa := range fams {
		req.Families = append(req.Families, fa.String())
	}
	req.Owners = l.Programs
	hdr, socks := b.Answer(ctx, req, peer)
	if hdr.Error != "" {
		return hdr, nil
	}
	res := snapshot.Result{Sockets: socks, Missing: hdr.Missing, OwnersDenied: hdr.OwnersIncomplete,
		OwnersFound: hdr.OwnersFound, OwnersSeen: hdr.OwnersSeen}
	for _, w := range hdr.Warnings {
		res.Warnings = append(res.Warnings, snapshot.Warning{Table: w.Table, Text: w.Text})
	}
	frame, rc := renderListing(l, &res, 128*len(socks)+1024)
	return daemonproto.Header{Rendered: true, Status: rc, NetNS: hdr.NetNS}, frame
}

func (b *Backend) cachedListing(req daemonproto.Request, peer Peer) (daemonproto.Header, []byte) {
	var hdr daemonproto.Header
	ns, path, err := clientNetNS(peer)
	if err != nil {
		hdr.Error = err.Error()
		return hdr, nil
	}
	hdr.NetNS = ns
	c, err := b.cacheFor(ns, path)
	if err != nil {
		hdr.Error = "listing sockets: " + err.Error()
		return hdr, nil
	}
	l := req.Listing
	key := renderKey{l: *l}
	if l.Programs && peer.UID != 0 {
		key.uid = peer.UID
	}
	c.renderMu.Lock()
	defer c.renderMu.Unlock()
	r, age := b.renderCached(c, key, time.Now(), time.Time{})
	hdr.Rendered = true
	hdr.Age = age
	hdr.Status = r.status
	return hdr, r.frame
}

// renderCached returns key's rendering of c's dump, rendering it again if
// the cached one is out of date, and how old (ms) the dump is. A query
// passes a zero prerendered; the refresher passes the time the key was
// last asked for. The caller holds c.renderMu.
func (b *Backend) renderCached(c *nsCache, key renderKey, now, prerendered time.Time) (*rendered, int64) {
	query := prerendered.IsZero()
	c.mu.Lock()
	d, gen, checked, r := c.dump, c.gen, c.checked, c.renders[key]
	used := prerendered
	if query {
		c.used, used = now, now
		if r != nil {
			r.used = now
		}
	}
	c.mu.Unlock()
	age := now.Sub(checked).Milliseconds()
	if r != nil && r.gen == gen && now.Before(r.until) {
		if query {
			b.caches.hits.Add(1)
		}
		return r, age
	}
	defer holdGC()()
	l := &key.l
	view := d.res
	var until time.Time
	socks, private := d.sockets()
	view.Sockets, until = unexpired(socks, d.at, now)
	if l.Programs {
		if !private && len(view.Sockets) > 0 && &view.Sockets[0] == &socks[0] {
			view.Sockets = slices.Clone(view.Sockets) // owners are written in
		}
		// Owners as the table has them now (a refresh renders again when
		// they changed, see dump.owners).
		found := b.Table.OwnersInto(c.ns, view.Sockets)
		if key.uid != 0 {
			found = restrictOwners(view.Sockets, key.uid)
			view.OwnersDenied = true
		}
		view.OwnersFound, view.OwnersSeen = found, found
	}
	// Size the frame once: grown by doubling, 100k lines would leave up
	// to half of it unused, held as long as the cache entry.
	size := len(view.Sockets)*lineSize(l) + 4096
	if r != nil {
		size = len(r.frame) + len(r.frame)/16 + 4096
	}
	frame, rc := renderListing(l, &view, size)
	if cap(frame)-len(frame) > len(frame)/8+4096 {
		frame = append(make([]byte, 0, len(frame)), frame...)
	}
	if query {
		b.caches.renders.Add(1)
		if len(view.Sockets) >= bigDump {
			b.caches.garbage.Store(true)
		}
	} else {
		b.caches.prerenders.Add(1)
	}
	nr := &rendered{gen: gen, until: until, frame: frame, status: rc, used: used}
	c.mu.Lock()
	if c.gen == gen {
		if c.renders == nil || len(c.renders) >= maxRenders {
			c.renders = make(map[renderKey]*rendered)
		}
		c.renders[key] = nr
	}
	c.mu.Unlock()
	return nr, age
}

// lineSize estimates one listing line with flags l, framing included.
func lineSize(l *daemonproto.Listing) int {
	n := 82
	if l.Extend > 1 {
		n += 22
	}
	if l.Programs {
		n += 21
	}
	return n
}

// unexpired returns the dump's sockets without the TIME_WAIT ones whose
// timer has run out by now (the kernel has freed them), and when the
// next one runs out. It copies only when it drops something.
func unexpired(socks []sock.Socket, at, now time.Time) ([]sock.Socket, time.Time) {
	until := now.Add(24 * time.Hour)
	var out []sock.Socket
	for i := range socks {
		s := &socks[i]
		if s.Proto == sock.ProtoTCP && s.State == sock.StateTimeWait && s.Timer.Kind == 3 {
			// Ticks are clock_t, 100 per second on Linux.
			exp := at.Add(time.Duration(s.Timer.Ticks) * 10 * time.Millisecond)
			if !now.Before(exp) {
				if out == nil {
					out = append(make([]sock.Socket, 0, len(socks)), socks[:i]...)
				}
				continue
			}
			if exp.Before(until) {
				until = exp
			}
		}
		if out != nil {
			out = append(out, *s)
		}
	}
	if out == nil {
		return socks, until
	}
	return out, until
}

// clientNetNS finds the peer's network namespace.
func clientNetNS(peer Peer) (uint64, string, error) {
	if peer.PID <= 0 {
		return 0, "", fmt.Errorf("cannot tell the client's network namespace (no peer pid)")
	}
	p := fmt.Sprintf("/proc/%d/ns/net", peer.PID)
	ns, err := NetNSOf(p)
	if err != nil {
		return 0, "", fmt.Errorf("finding the client's network namespace: %w", err)
	}
	return ns, p, nil
}

// cacheFor returns namespace ns's cache, dumping it first if new.
func (b *Backend) cacheFor(ns uint64, path string) (*nsCache, error) {
	b.caches.mu.Lock()
	if b.caches.m == nil {
		b.caches.m = make(map[uint64]*nsCache)
	}
	c := b.caches.m[ns]
	if c == nil {
		c = &nsCache{ns: ns}
		if ns != b.SelfNetNS {
			f, err := openNetNS(path, ns)
			if err != nil {
				b.caches.mu.Unlock()
				return nil, err
			}
			c.nsFile, c.path = f, "/proc/self/fd/"+strconv.Itoa(int(f.Fd()))
		}
		b.caches.m[ns] = c
	}
	b.caches.mu.Unlock()
	c.fillMu.Lock()
	defer c.fillMu.Unlock()
	c.mu.Lock()
	c.used = time.Now()
	filled := c.dump != nil
	c.mu.Unlock()
	if filled {
		return c, nil
	}
	if !b.Table.Seeded(ns) {
		// The table must know this namespace's owners before a dump can
		// take them from it.
		if _, err := b.seed(ns, c.path); err != nil {
			b.dropCache(c)
			return nil, err
		}
	}
	if _, _, err := b.refresh(c); err != nil {
		b.dropCache(c)
		return nil, err
	}
	return c, nil
}

// dropCache forgets c. Only the refresher and a failed first fill drop
// caches, and neither runs a dump of c meanwhile, so its namespace file
// can be closed.
func (b *Backend) dropCache(c *nsCache) {
	b.caches.mu.Lock()
	if b.caches.m[c.ns] == c {
		delete(b.caches.m, c.ns)
		if c.nsFile != nil {
			c.nsFile.Close()
		}
	}
	b.caches.mu.Unlock()
}

// openNetNS opens a namespace file and checks it is namespace ns (the
// pid behind path may have been reused meanwhile).
func openNetNS(path string, ns uint64) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the client's network namespace: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Ino != ns {
		f.Close()
		return nil, fmt.Errorf("opening the client's network namespace: %s is no longer namespace %d", path, ns)
	}
	return f, nil
}

// refresh dumps c's namespace and installs the result if it differs from
// the cached one in anything a cached listing prints; it then returns the
// renderings asked for in the last hotFor, to be redone.
func (b *Backend) refresh(c *nsCache) (hot []hotKey, big bool, err error) {
	defer holdGC()()
	g := b.Table.Gen(c.ns)
	start := time.Now()
	// Sockets are packed as the dump decodes them.
	hint := 0
	if c.dump != nil {
		hint = c.dump.len()
	}
	pk := &packer{recs: make([]crec, 0, hint+1024)}
	opts := snapshot.Options{Protos: cachedProtos, Collect: pk}
	var res snapshot.Result
	if c.ns == b.SelfNetNS {
		res, err = snapshot.Fast(opts)
	} else {
		res, err = snapshot.FastIn(c.path, opts)
	}
	if err != nil {
		return nil, false, err
	}
	d := &dump{res: res, recs: pk.recs, start: start, at: time.Now()}
	if pk.socks != nil {
		d.res.Sockets, d.recs = pk.socks, nil
	}
	d.owners = b.Table.OwnersDigest(c.ns, d.len(), d.key)
	b.caches.refreshes.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tableGen, c.checked = g, d.at
	big = d.len() >= bigDump
	if c.dump != nil && sameDump(c.dump, d) && c.dump.owners == d.owners {
		return nil, big, nil
	}
	for k, r := range c.renders {
		if d.at.Sub(r.used) < hotFor {
			hot = append(hot, hotKey{k, r.used})
		}
	}
	c.dump = d
	b.caches.changed.Add(1)
	c.gen++
	c.renders = nil
	return hot, big, nil
}

// sameDump says whether two dumps print the same in every cached
// listing (owners aside: they come from the table at render time): all
// fields but timers, which only -o prints (never cached). A TIME_WAIT
// socket's timer counts down between dumps; it is the same socket with the
// same expiry (which unexpired counts from the dump) if the expiry times
// the two dumps allow overlap.
func sameDump(da, db *dump) bool {
	a, b := &da.res, &db.res
	if len(a.Sockets) != len(b.Sockets) || len(da.recs) != len(db.recs) || !slices.Equal(a.Missing, b.Missing) ||
		!slices.Equal(a.Warnings, b.Warnings) || a.OwnersDenied != b.OwnersDenied {
		return false
	}
	for i := range da.recs {
		x, y := da.recs[i], db.recs[i]
		if x.state == sock.StateTimeWait && y.state == sock.StateTimeWait {
			if x.timerKind != y.timerKind || !overlap(da, uint64(x.ticks), db, uint64(y.ticks)) {
				return false
			}
			x.ticks, y.ticks = 0, 0
		}
		if x != y {
			return false
		}
	}
	for i := range a.Sockets {
		x, y := &a.Sockets[i], &b.Sockets[i]
		if x.Family != y.Family || x.Proto != y.Proto || x.Local != y.Local || x.Remote != y.Remote ||
			x.State != y.State || x.RecvQ != y.RecvQ || x.SendQ != y.SendQ || x.UID != y.UID ||
			x.Inode != y.Inode || x.RawProto != y.RawProto || x.Cookie != y.Cookie {
			return false
		}
		if x.State == sock.StateTimeWait && !sameExpiry(da, x, db, y) {
			return false
		}
	}
	return true
}

// sameExpiry: the timer was read somewhere within each dump, so socket
// x's expiry lies in [start+ticks, at+ticks+1 tick], and likewise y's.
func sameExpiry(da *dump, x *sock.Socket, db *dump, y *sock.Socket) bool {
	return x.Timer.Kind == y.Timer.Kind && overlap(da, x.Timer.Ticks, db, y.Timer.Ticks)
}

// overlap says whether expiries ta (ticks into dump da) and tb (into db)
// may be the same instant.
func overlap(da *dump, ta uint64, db *dump, tb uint64) bool {
	const tick = 10 * time.Millisecond
	lo1, hi1 := da.start.Add(time.Duration(ta)*tick), da.at.Add(time.Duration(ta+1)*tick)
	lo2, hi2 := db.start.Add(time.Duration(tb)*tick), db.at.Add(time.Duration(tb+1)*tick)
	return !lo1.After(hi2) && !lo2.After(hi1)
}

// RefreshCaches keeps the listing caches current until ctx ends (see the
// comment at the top of this file for the schedule).
func (b *Backend) RefreshCaches(ctx context.Context, logf func(string, ...any)) {
	tick := time.NewTicker(refreshTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b.caches.mu.Lock()
		list := make([]*nsCache, 0, len(b.caches.m))
		for _, c := range b.caches.m {
			list = append(list, c)
		}
		b.caches.mu.Unlock()
		dropped := false
		for _, c := range list {
			now := time.Now()
			c.mu.Lock()
			filled, used, checked, tg := c.dump != nil, c.used, c.checked, c.tableGen
			c.mu.Unlock()
			if !filled {
				continue
			}
			if now.Sub(used) > cacheIdle || !b.tableReady() {
				b.dropCache(c)
				dropped = true
				continue
			}
			since := now.Sub(checked)
			if since < refreshMax && (since < refreshMin || b.Table.Gen(c.ns) == tg) {
				continue
			}
			hot, big, err := b.refresh(c)
			if err != nil {
				// The namespace is gone, or cannot be entered: the next
				// query dumps it again, or fails saying why.
				b.dropCache(c)
				if logf != nil {
					logf("refreshing the listing cache of namespace %d: %v", c.ns, err)
				}
				continue
			}
			for _, h := range hot {
				c.renderMu.Lock()
				b.renderCached(c, h.key, time.Now(), h.used)
				c.renderMu.Unlock()
			}
			if big {
				// A large namespace's previous dump (or this one, if
				// nothing changed) and its renderings are garbage now:
				// hand the pages back at once instead of letting the heap
				// grow to the GC's goal on top of the caches.
				dropped = true
			}
		}
		if b.caches.garbage.Swap(false) {
			dropped = true
		}
		if dropped {
			// A dropped cache held a dump and rendered outputs, a few
			// hundred bytes per socket: hand them back to the system now
			// rather than when the scavenger gets to it, so an idle
			// daemon shrinks to its table.
			debug.FreeOSMemory()
		}
	}
}
