package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/internal/testns"
	"github.com/bpfstat/bpfstat/tracer"
)

func followEvent() tracer.Event {
	return tracer.Event{
		Kind: tracer.KindClose, Time: 5, Family: sock.FamilyInet, Proto: sock.ProtoTCP, Type: 1,
		Local:    netip.MustParseAddrPort("127.0.0.1:8080"),
		Remote:   netip.MustParseAddrPort("127.0.0.1:40000"),
		OldState: sock.StateLastAck, NewState: sock.StateClose,
		Cookie: 9, NetNS: 4026531833, Inode: 77, PID: 42, Comm: "nginx", UID: 33, FD: 5,
		Lifetime: 1500 * time.Microsecond, BytesSent: 101, BytesReceived: 201,
	}
}

func TestFollowMatch(t *testing.T) {
	tcp4 := followEvent()
	unixEv := tracer.Event{Kind: tracer.KindSocket, Family: sock.FamilyUnix, Proto: sock.ProtoUnix, PID: 1}
	for _, c := range []struct {
		name string
		o    followOptions
		ev   tracer.Event
		want bool
	}{
		{"no filter", followOptions{}, tcp4, true},
		{"-u drops tcp", followOptions{UDP: true}, tcp4, false},
		{"-t keeps tcp", followOptions{TCP: true}, tcp4, true},
		{"-6 drops inet", followOptions{Inet6: true}, tcp4, false},
		{"-4 drops unix", followOptions{Inet4: true}, unixEv, false},
		{"-x keeps unix", followOptions{Unix: true}, unixEv, true},
		{"--port remote", followOptions{Ports: []uint16{40000}}, tcp4, true},
		{"--port other", followOptions{Ports: []uint16{22}}, tcp4, false},
		{"--pid", followOptions{PIDs: []int32{42}}, tcp4, true},
		{"--pid other", followOptions{PIDs: []int32{43}}, tcp4, false},
		{"--state CLOSE", followOptions{States: []sock.State{sock.StateClose}}, tcp4, true},
		{"--state LISTEN", followOptions{States: []sock.State{sock.StateListen}}, tcp4, false},
	} {
		if got := c.o.match(&c.ev); got != c.want {
			t.Errorf("%s: match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFollowJSON(t *testing.T) {
	var b bytes.Buffer
	p := newFollowPrinter(&b, true)
	ev := followEvent()
	if err := p.print(&ev); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("%v in %q", err, b.String())
	}
	want := map[string]any{
		"ts": 5.0, "event": "close", "proto": "tcp", "saddr": "127.0.0.1", "sport": 8080.0,
		"daddr": "127.0.0.1", "dport": 40000.0, "oldstate": "LAST_ACK", "newstate": "CLOSE",
		"pid": 42.0, "comm": "nginx", "uid": 33.0, "inode": 77.0, "cookie": 9.0, "netns": 4026531833.0,
		"lifetime_ns": 1500000.0, "bytes_sent": 101.0, "bytes_received": 201.0,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("key %q = %v, want %v", k, m[k], v)
		}
	}
}

func TestFollowText(t *testing.T) {
	var b bytes.Buffer
	p := newFollowPrinter(&b, false)
	p.header()
	ev := followEvent()
	p.print(&ev)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), b.String())
	}
	for _, want := range []string{"close", "tcp", "127.0.0.1:8080", "127.0.0.1:40000", "LAST_ACK->CLOSE", "42/nginx", "33", "lifetime=1.5ms", "tx=101 rx=201"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("line %q lacks %q", lines[1], want)
		}
	}
	// Columns line up with the header.
	if strings.Index(lines[0], "EVENT") != strings.Index(lines[1], "close") {
		t.Errorf("columns misaligned:\n%s\n%s", lines[0], lines[1])
	}
}

// TestIntegrationFollow runs --follow --json against a real connection.
func TestIntegrationFollow(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("--follow loads eBPF programs: needs root on Linux")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testns.Buffer
	done := startFollow(t, ctx, &out, &out, &errb)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ln.Accept()
	c.Close()
	s.Close()
	ln.Close()
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runFollow: %v (stderr %q)", err, errb.String())
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		if int(m["dport"].(float64)) == port && int(m["pid"].(float64)) == os.Getpid() {
			seen[m["oldstate"].(string)+"->"+m["newstate"].(string)] = true
		}
	}
	for _, want := range []string{"CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->FIN_WAIT1", "FIN_WAIT2->CLOSE"} {
		if !seen[want] {
			t.Errorf("no %s event for our connection; saw %v", want, seen)
		}
	}
}

// startFollow runs --follow --json -t (this process's events included)
// writing to w, and returns once a probe connection shows in out (what w
// writes into): the tracer is attached.
func startFollow(t *testing.T, ctx context.Context, w io.Writer, out, errb *testns.Buffer) chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- runFollow(ctx, w, errb, followOptions{JSON: true, TCP: true, includeSelf: true}) }()
	// Attaching takes longer on a busy machine: probe with throwaway
	// connections until one is reported (bounded).
	for i := 0; ; i++ {
		if i == 300 {
			t.Fatalf("--follow reported no probe connection in 30 s (stderr %q)", errb.String())
		}
		pl, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.Dial("tcp4", pl.Addr().String())
		if err == nil {
			pc.Close()
		}
		pl.Close()
		time.Sleep(100 * time.Millisecond)
		if strings.Contains(out.String(), fmt.Sprintf(`"dport":%d`, pl.Addr().(*net.TCPAddr).Port)) {
			return done
		}
	}
}

// gatedWriter writes into buf, blocking while mu is held: a reader that
// has stopped reading (a full pipe).
type gatedWriter struct {
	mu  sync.Mutex
	buf *testns.Buffer
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(b)
}

// TestIntegrationFollowDrain: told to stop while its output is blocked,
// --follow still writes every event that happened before, then ends.
func TestIntegrationFollowDrain(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("--follow loads eBPF programs: needs root on Linux")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testns.Buffer
	g := &gatedWriter{buf: &out}
	done := startFollow(t, ctx, g, &out, &errb)

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	g.mu.Lock() // nobody reads
	const conns = 300
	for range conns {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			g.mu.Unlock()
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			g.mu.Unlock()
			t.Fatal(err)
		}
		s.Close()
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	g.mu.Unlock() // reading again
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runFollow: %v (stderr %q)", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("--follow did not end within 30 s of being told to")
	}
	closes := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			Event string `json:"event"`
			Dport int    `json:"dport"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		if m.Event == "close" && m.Dport == port {
			closes++
		}
	}
	if closes != conns {
		t.Errorf("%d client closes written, want %d (stderr %q)", closes, conns, errb.String())
	}
}
