package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/sock"
)

type fakeAnswerer struct {
	mu    sync.Mutex
	peers []Peer
	socks []sock.Socket
	block chan struct{}
}

func (f *fakeAnswerer) Answer(ctx context.Context, req daemonproto.Request, peer Peer) (daemonproto.Header, []sock.Socket) {
	f.mu.Lock()
	f.peers = append(f.peers, peer)
	f.mu.Unlock()
	if req.Kind == daemonproto.KindStats && f.block != nil {
		<-f.block
	}
	if req.Kind == daemonproto.KindPing {
		return daemonproto.Header{}, nil
	}
	if req.Kind == daemonproto.KindStats {
		panic("answerer bug")
	}
	return daemonproto.Header{Warnings: []daemonproto.Warning{{Table: "tcp", Text: "w"}}}, f.socks
}

func startServer(t *testing.T, a Answerer) (string, func()) {
	return startServerWrite(t, a, 500*time.Millisecond)
}

// startServerWrite is startServer with a given WriteTimeout.
func startServerWrite(t *testing.T, a Answerer, write time.Duration) (string, func()) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_PEERCRED is Linux-only")
	}
	path := filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{Answerer: a, ReadTimeout: 200 * time.Millisecond, WriteTimeout: write, MaxConns: 4}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	return path, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
}

func TestQueryRoundTrip(t *testing.T) {
	want := []sock.Socket{{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateListen,
		Local: netip.MustParseAddrPort("127.0.0.1:80"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Inode: 5,
		Owners: []sock.Owner{{PID: 1, Comm: "init", Program: "systemd", FD: 3}}}}
	fa := &fakeAnswerer{socks: want}
	path, stop := startServer(t, fa)
	defer stop()
	hdr, got, err := Query(path, daemonproto.Request{Kind: daemonproto.KindSockets, Protos: []string{"tcp"}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Local != want[0].Local || got[0].Owners[0].Program != "systemd" || hdr.Count != 1 || len(hdr.Warnings) != 1 {
		t.Fatalf("reply %+v %+v", hdr, got)
	}
	fa.mu.Lock()
	p := fa.peers[0]
	fa.mu.Unlock()
	if p.PID <= 0 || p.Conn[0] == 0 || p.Conn[1] == 0 || p.Conn[0] == p.Conn[1] {
		t.Fatalf("peer = %+v: want our pid and both connection inodes", p)
	}
}

// rawExchange sends bytes and returns the reply header's error.
func rawExchange(t *testing.T, path string, payload []byte) string {
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write(payload)
	hb, err := daemonproto.ReadFrame(c, daemonproto.MaxHeader)
	if err != nil {
		t.Fatalf("no error reply: %v", err)
	}
	return string(hb)
}

func TestMalformedRequests(t *testing.T) {
	path, stop := startServer(t, &fakeAnswerer{})
	defer stop()
	frame := func(s string) []byte {
		b := make([]byte, 4, 4+len(s))
		binary.BigEndian.PutUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    string
	}{
		{"garbage json", frame("{nope"), "decoding request"},
		{"wrong version", frame(`{"v":99,"kind":"sockets"}`), "unsupported protocol version"},
		{"bad kind", frame(`{"v":1,"kind":"x"}`), "unknown query kind"},
		{"oversized", []byte{0xff, 0xff, 0xff, 0xff}, "request too large"},
		{"truncated", append([]byte{0, 0, 0, 100}, "{}"...), "reading request"},
		{"silent client", nil, "reading request"},
		{"answerer panic", frame(`{"v":1,"kind":"stats"}`), "internal error"},
	} {
		if got := rawExchange(t, path, tc.payload); !strings.Contains(got, tc.want) {
			t.Errorf("%s: reply %s, want %q", tc.name, got, tc.want)
		}
	}
	// The daemon still answers.
	if _, _, err := Query(path, daemonproto.Request{Kind: daemonproto.KindPing}, time.Second); err != nil {
		t.Fatalf("daemon dead after malformed requests: %v", err)
	}
}

// TestSlowClientsDoNotBlock: clients that never read their (large)
// reply, or vanish mid-reply, do not stop others from being served.
func TestSlowClientsDoNotBlock(t *testing.T) {
	big := make([]sock.Socket, 200000)
	for i := range big {
		big[i] = sock.Socket{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, Path: "/some/long/path/for/bulk", Inode: uint64(i)}
	}
	// The reply is megabytes: a write timeout roomy enough for a loaded
	// machine under -race, so only the stuck clients ever hit it.
	path, stop := startServerWrite(t, &fakeAnswerer{socks: big}, 30*time.Second)
	defer stop()
	req := []byte(`{"v":1,"kind":"sockets"}`)
	var stuck []net.Conn
	for i := 0; i < 2; i++ { // below MaxConns: they hold slots until WriteTimeout
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		daemonproto.WriteFrame(c, req)
		stuck = append(stuck, c) // never read
	}
	// One that vanishes right after asking.
	if c, err := net.Dial("unix", path); err == nil {
		daemonproto.WriteFrame(c, req)
		c.Close()
	}
	_, got, err := Query(path, daemonproto.Request{Kind: daemonproto.KindSockets}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(big) {
		t.Fatalf("got %d sockets", len(got))
	}
	for _, c := range stuck {
		c.Close()
	}
	if _, _, err := Query(path, daemonproto.Request{Kind: daemonproto.KindPing}, 5*time.Second); err != nil {
		t.Fatalf("daemon stuck after slow clients: %v", err)
	}
}

func TestRestrictOwners(t *testing.T) {
	socks := []sock.Socket{
		{Inode: 1, Owners: []sock.Owner{{PID: 1, UID: 0}, {PID: 50, UID: 1000}}},
		{Inode: 2, Owners: []sock.Owner{{PID: 2, UID: 0}}},
		{Inode: 3},
	}
	if n := restrictOwners(socks, 1000); n != 1 {
		t.Fatalf("kept %d", n)
	}
	if len(socks[0].Owners) != 1 || socks[0].Owners[0].PID != 50 || socks[1].Owners != nil {
		t.Fatalf("owners after restricting: %+v", socks)
	}
	u := []sock.Socket{{Proto: sock.ProtoUnix, Inode: 7}, {Proto: sock.ProtoUnix, Inode: 8}, {Proto: sock.ProtoTCP, Inode: 7}}
	if got := hideConn(u, [2]uint64{7, 9}); len(got) != 2 || got[0].Inode != 8 {
		t.Fatalf("hideConn: %+v", got)
	}
	f := filterSockets([]sock.Socket{{Proto: sock.ProtoTCP, Family: sock.FamilyInet}, {Proto: sock.ProtoTCP, Family: sock.FamilyInet6}, {Proto: sock.ProtoUDP, Family: sock.FamilyInet}},
		[]sock.Proto{sock.ProtoTCP}, []sock.Family{sock.FamilyInet6})
	if len(f) != 1 || f[0].Family != sock.FamilyInet6 {
		t.Fatalf("filterSockets: %+v", f)
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv("BPFSTAT_SOCKET", "")
	if SocketPath("") != DefaultSocket {
		t.Fatal("default")
	}
	t.Setenv("BPFSTAT_SOCKET", "/x/y.sock")
	if SocketPath("") != "/x/y.sock" || SocketPath("/a") != "/a" {
		t.Fatal("env / explicit")
	}
}

// TestBusy: beyond MaxConns a client gets an error reply at once.
func TestBusy(t *testing.T) {
	fa := &fakeAnswerer{block: make(chan struct{})}
	path, stop := startServer(t, fa)
	defer stop()
	defer close(fa.block)
	var held []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		daemonproto.WriteFrame(c, []byte(`{"v":1,"kind":"stats"}`)) // blocks in Answer
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 100; i++ {
		fa.mu.Lock()
		n := len(fa.peers)
		fa.mu.Unlock()
		if n == 4 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _, err := Query(path, daemonproto.Request{Kind: daemonproto.KindPing}, 2*time.Second)
	var de DaemonError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("err = %v, want a busy reply", err)
	}
}
