package daemon

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/table"
)

// TestIntegrationListingCache runs the real Backend (a table seeded from
// snapshots, no tracer) in this process's namespace: concurrent cached
// and fresh listings while the background refresher runs, for the race
// detector, and cached answers rendered once then copied.
func TestIntegrationListingCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: seeds the table with every process's sockets")
	}
	self, err := NetNSOf("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	close(ready)
	b := &Backend{Table: table.New(nil), Ready: ready, SelfNetNS: self}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.RefreshCaches(ctx, t.Logf); close(done) }()
	defer func() { cancel(); <-done }()

	peer := Peer{PID: int32(os.Getpid()), UID: 0}
	tan := daemonproto.Listing{All: true, NumHosts: true, NumPorts: true, NumUsers: true, Extend: 1, TCP: true, Inet: true, Inet6: true, Arg: 1}
	tanp := tan
	tanp.Programs = true
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				l := tan
				if (w+i)%2 == 1 {
					l = tanp
				}
				req := daemonproto.Request{Version: 2, Kind: daemonproto.KindSockets, Listing: &l, Fresh: i%5 == 4}
				p := peer
				if w == 3 {
					p.UID = 65534 // owners restricted: a copy, never the cache's sockets
				}
				hdr, frame := b.Listing(ctx, req, p)
				var out, errb bytes.Buffer
				if hdr.Error != "" || !hdr.Rendered || hdr.Status != 0 {
					t.Errorf("reply %+v", hdr)
					return
				}
				if err := daemonproto.WriteOutput(frame, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "Active Internet connections (servers and established)\n") {
					t.Errorf("output %q, %v", out.String(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.caches.hits.Load() == 0 || b.caches.fresh.Load() == 0 || b.caches.renders.Load() == 0 {
		t.Errorf("hits %d, renders %d, fresh %d: want all three ways used", b.caches.hits.Load(), b.caches.renders.Load(), b.caches.fresh.Load())
	}
}
