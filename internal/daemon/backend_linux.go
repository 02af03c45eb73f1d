package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/internal/table"
	"github.com/bpfstat/bpfstat/snapshot"
)

// Backend answers queries on Linux.
//
// Where the answer comes from, and why (the trade-off issue 5 asks to
// write down):
//
//   - Socket identity, state, queues, timers and order come from a netlink
//     sock_diag dump of the client's namespace at query time
//     (snapshot.Fast/FastIn). Queue sizes and timers change with every
//     packet and no hook reports them without a per-packet cost;
//     TIME_WAIT and request sockets have no events; and netstat prints
//     sockets in the kernel's hash order, which only a walk of the kernel
//     tables reproduces. A dump costs what `ss -tan` costs in the kernel
//     (about 0.1 s at 100k sockets here) and is exact. The alternative,
//     BPF iterators (iter/tcp, iter/udp, iter/unix) filtering in the
//     kernel, would cut the dump to the sockets whose queues or timers
//     are non-zero, but would still walk every socket, needs BPF at
//     query time and a second code path to keep byte-identical; left for
//     later.
//   - Owners (-p, -e) come from the live table, kept by the tracer: this
//     replaces the /proc/*/fd walk, which is what makes netstat -tanp take
//     seconds at 100k sockets. Sockets are matched by cookie (inode for
//     unix sockets, read from /proc/net/unix).
//   - Without a tracer (Table nil) owners come from a fresh fd walk per
//     query: correct, as fast as the one-shot path.
//
// That is the v1 answer, and a v2 listing's when it must be fresh. A v2
// numeric listing is otherwise rendered from a cached dump refreshed in
// the background (cache_linux.go, where the staleness bound is written
// down).
type Backend struct {
	Table *table.Table
	// Ready is closed once the table holds its first seed; until then
	// owners come from an fd walk.
	Ready <-chan struct{}
	// SelfNetNS is the daemon's own namespace inode.
	SelfNetNS uint64

	seedMu sync.Mutex
	failed atomic.Bool // the live table stopped: answer from snapshots
	caches caches      // per-namespace listing caches (cache_linux.go)
}

// TableFailed makes the backend stop using the table (the tracer died).
func (b *Backend) TableFailed() { b.failed.Store(true) }

// NetNSOf returns the network namespace inode of a namespace file.
func NetNSOf(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("reading network namespace: %w", err)
	}
	return st.Ino, nil
}

// Namespaces lists every network namespace that has a process or an
// `ip netns` name, with a path to enter it.
func Namespaces() map[uint64]string {
	out := make(map[uint64]string)
	if names, err := filepath.Glob("/run/netns/*"); err == nil {
		for _, n := range names {
			if ino, err := NetNSOf(n); err == nil {
				out[ino] = n
			}
		}
	}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	for _, pid := range pids {
		p := "/proc/" + strconv.Itoa(pid) + "/ns/net"
		if ino, err := NetNSOf(p); err == nil {
			if _, ok := out[ino]; !ok {
				out[ino] = p
			}
		}
	}
	return out
}

func (b *Backend) tableReady() bool {
	if b.Table == nil || b.Ready == nil || b.failed.Load() {
		return false
	}
	select {
	case <-b.Ready:
		return true
	default:
		return false
	}
}

// Answer implements Answerer.
func (b *Backend) Answer(ctx context.Context, req daemonproto.Request, peer Peer) (daemonproto.Header, []sock.Socket) {
	var hdr daemonproto.Header
	switch req.Kind {
	case daemonproto.KindPing:
		return hdr, nil
	case daemonproto.KindStats:
		hdr.Stats = map[string]uint64{}
		if b.Table != nil {
			st := b.Table.Stats()
			hdr.Stats = map[string]uint64{
				"sockets": uint64(st.Sockets), "namespaces": uint64(st.Namespaces),
				"events": st.Events, "stale": st.Stale, "resyncs": st.Resyncs, "lost": st.Lost,
				"refreshes": st.Refreshes,
			}
		}
		c := &b.caches
		hdr.Stats["listingCacheHits"] = c.hits.Load()
		hdr.Stats["listingRenders"] = c.renders.Load()
		hdr.Stats["listingPrerenders"] = c.prerenders.Load()
		hdr.Stats["listingFresh"] = c.fresh.Load()
		hdr.Stats["cacheDumps"] = c.refreshes.Load()
		hdr.Stats["cacheDumpsChanged"] = c.changed.Load()
		// The Go heap as of the last collection, and what the runtime
		// holds from the system: where the daemon's memory goes.
		ms := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"},
			{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(ms)
		for i, k := range []string{"heapLiveBytes", "runtimeMappedBytes", "heapReleasedBytes"} {
			if ms[i].Value.Kind() == metrics.KindUint64 {
				hdr.Stats[k] = ms[i].Value.Uint64()
			}
		}
		return hdr, nil
	}
	targets := map[uint64]string{}
	if req.AllNetns {
		targets = Namespaces()
	} else {
		if peer.PID <= 0 {
			hdr.Error = "cannot tell the client's network namespace (no peer pid)"
			return hdr, nil
		}
		p := fmt.Sprintf("/proc/%d/ns/net", peer.PID)
		ns, err := NetNSOf(p)
		if err != nil {
			hdr.Error = "finding the client's network namespace: " + err.Error()
			return hdr, nil
		}
		targets[ns] = p
		hdr.NetNS = ns
	}
	order := make([]uint64, 0, len(targets))
	for ns := range targets {
		order = append(order, ns)
	}
	slices.Sort(order)

	useTable := req.Owners && b.tableReady()
	var walked map[uint64][]sock.Owner
	var denied bool
	opts := snapshot.Options{Protos: req.WantProtos(), Families: req.WantFamilies()}
	var all []sock.Socket
	for _, ns := range order {
		var res snapshot.Result
		var err error
		seeded := false
		if useTable && !b.Table.Seeded(ns) {
			// First query in this namespace: seed it (the tracer already
			// watches every namespace), answering from that snapshot.
			res, err = b.seed(ns, targets[ns])
			seeded = err == nil
			res.Sockets = filterSockets(res.Sockets, opts.Protos, opts.Families)
		} else if ns == b.SelfNetNS {
			res, err = snapshot.Fast(opts)
		} else {
			res, err = snapshot.FastIn(targets[ns], opts)
		}
		if err != nil {
			if req.AllNetns {
				continue // the namespace went away meanwhile
			}
			hdr.Error = "listing sockets: " + err.Error()
			return hdr, nil
		}
		for _, w := range res.Warnings {
			hdr.Warnings = append(hdr.Warnings, daemonproto.Warning{Table: w.Table, Text: w.Text})
		}
		if hdr.Missing == nil {
			hdr.Missing = res.Missing
		}
		res.Sockets = hideConn(res.Sockets, peer.Conn)
		for i := range res.Sockets {
			res.Sockets[i].NetNS = ns
		}
		if req.Owners && !seeded {
			if useTable {
				b.Table.OwnersInto(ns, res.Sockets)
			} else {
				if walked == nil {
					walked, denied, err = snapshot.FastOwners("/")
					if err != nil {
						hdr.Error = "reading owners: " + err.Error()
						return hdr, nil
					}
				}
				for i := range res.Sockets {
					s := &res.Sockets[i]
					if s.Inode != 0 {
						s.Owners = walked[s.Inode]
					}
				}
			}
		}
		all = append(all, res.Sockets...)
	}
	if req.Owners {
		found := 0
		for i := range all {
			if len(all[i].Owners) > 0 {
				found++
			}
		}
		hdr.OwnersIncomplete = denied
		if peer.UID != 0 {
			found = restrictOwners(all, peer.UID)
			hdr.OwnersIncomplete = true
		}
		hdr.OwnersFound = found
		hdr.OwnersSeen = found
	}
	return hdr, all
}

// seed snapshots one namespace with owners and installs it in the table.
func (b *Backend) seed(ns uint64, path string) (snapshot.Result, error) {
	b.seedMu.Lock()
	defer b.seedMu.Unlock()
	start := table.Monotonic()
	opts := snapshot.Options{Owners: true}
	var res snapshot.Result
	var err error
	if ns == b.SelfNetNS {
		res, err = snapshot.Fast(opts)
	} else {
		res, err = snapshot.FastIn(path, opts)
	}
	if err != nil {
		return res, err
	}
	b.Table.Seed(ns, start, res.Sockets)
	return res, nil
}

// Snapshot is the live table's resync source: every namespace the table
// was seeded with, plus the daemon's own.
func (b *Backend) Snapshot(ctx context.Context) (map[uint64][]sock.Socket, error) {
	want := map[uint64]bool{b.SelfNetNS: true}
	if b.Table != nil {
		for _, ns := range b.Table.Namespaces() {
			if b.Table.Seeded(ns) {
				want[ns] = true
			}
		}
	}
	paths := map[uint64]string{b.SelfNetNS: "/proc/self/ns/net"}
	if len(want) > 1 {
		paths = Namespaces()
	}
	owners, _, err := snapshot.FastOwners("/")
	if err != nil {
		return nil, err
	}
	out := make(map[uint64][]sock.Socket)
	for ns := range want {
		var res snapshot.Result
		if ns == b.SelfNetNS {
			res, err = snapshot.Fast(snapshot.Options{})
		} else if p, ok := paths[ns]; ok {
			res, err = snapshot.FastIn(p, snapshot.Options{})
		} else {
			out[ns] = nil // the namespace is gone: empty it
			continue
		}
		if err != nil {
			return nil, err
		}
		for i := range res.Sockets {
			s := &res.Sockets[i]
			if s.Inode != 0 {
				s.Owners = owners[s.Inode]
			}
		}
		out[ns] = res.Sockets
	}
	return out, nil
}
