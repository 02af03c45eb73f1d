package snapshot

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// TestIntegrationFastMatchesProc re-runs itself in a private network
// namespace (unshare -n), opens TCP, UDP and unix sockets there, some with
// queued data, and checks Fast returns what the /proc parsers return, in
// the same order.
func TestIntegrationFastMatchesProc(t *testing.T) {
	if os.Getenv("BPFSTAT_FAST_CHILD") == "1" {
		fastChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1)")
	}
	cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run=^TestIntegrationFastMatchesProc$", "-test.v")
	cmd.Env = append(os.Environ(), "BPFSTAT_FAST_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
}

func fastChild(t *testing.T) {
	if err := exec.Command("ip", "link", "set", "lo", "up").Run(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	var keep []io.Closer
	defer func() {
		for _, c := range keep {
			c.Close()
		}
	}()
	lc := net.ListenConfig{}
	lc.SetMultipathTCP(false)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, ln)
		for i := 0; i < 20; i++ {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			keep = append(keep, c)
			if i%3 == 0 {
				// Unread data: a non-zero Recv-Q on the accepting side.
				fmt.Fprintf(c, "hello %d", i)
			}
			if i%2 == 0 {
				s, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				keep = append(keep, s)
				if i%4 == 0 {
					s.Close() // FIN_WAIT2 / CLOSE_WAIT pairs
				}
			}
		}
	}
	// TIME_WAIT: the side closing first after both closed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	keep = append(keep, ln)
	for i := 0; i < 5; i++ {
		c, _ := net.Dial("tcp", ln.Addr().String())
		s, _ := ln.Accept()
		c.Close()
		time.Sleep(5 * time.Millisecond)
		s.Close()
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, u)
		c, err := net.Dial("udp", u.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, c)
		c.Write([]byte("queued"))
	}
	ul, err := net.Listen("unix", "@bpfstat-fast-test")
	if err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ul)
	if fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0); err == nil {
		defer syscall.Close(fds[0])
		defer syscall.Close(fds[1])
	}
	time.Sleep(50 * time.Millisecond)

	opts := Options{Owners: true}
	var proc, fast Result
	// Timers tick between two reads; retry a few times for a quiet moment.
	for try := 0; try < 5; try++ {
		proc, err = Sockets(opts)
		if err != nil {
			t.Fatal(err)
		}
		fast, err = Fast(opts)
		if err != nil {
			t.Fatal(err)
		}
		if equalIgnoringTicks(t, proc.Sockets, fast.Sockets, false) {
			break
		}
	}
	if !equalIgnoringTicks(t, proc.Sockets, fast.Sockets, true) {
		t.Fatal("Fast differs from Sockets")
	}
	if !reflect.DeepEqual(proc.Missing, fast.Missing) || proc.OwnersDenied != fast.OwnersDenied || proc.OwnersFound != fast.OwnersFound {
		t.Fatalf("result metadata differs: proc %v %v %d, fast %v %v %d",
			proc.Missing, proc.OwnersDenied, proc.OwnersFound, fast.Missing, fast.OwnersDenied, fast.OwnersFound)
	}
	nonzero := 0
	for _, s := range fast.Sockets {
		if s.RecvQ != 0 && s.Proto == sock.ProtoTCP {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("no TCP socket with a non-zero Recv-Q: the test set-up is wrong")
	}
	t.Logf("%d sockets equal, %d with a TCP Recv-Q", len(fast.Sockets), nonzero)
}

func equalIgnoringTicks(t *testing.T, a, b []sock.Socket, report bool) bool {
	if len(a) != len(b) {
		if report {
			t.Errorf("%d sockets from /proc, %d from Fast", len(a), len(b))
			for _, s := range a {
				t.Logf("proc %v %v %v %v %d", s.Proto, s.Local, s.Remote, s.State, s.Inode)
			}
			for _, s := range b {
				t.Logf("fast %v %v %v %v %d", s.Proto, s.Local, s.Remote, s.State, s.Inode)
			}
		}
		return false
	}
	ok := true
	for i := range a {
		x, y := a[i], b[i]
		y.Cookie = 0
		// A timer read twice moves on (by seconds on a loaded machine).
		if d := int64(x.Timer.Ticks) - int64(y.Timer.Ticks); d >= -300 && d <= 300 {
			y.Timer.Ticks = x.Timer.Ticks
		}
		if !reflect.DeepEqual(x, y) {
			ok = false
			if report {
				t.Errorf("socket %d:\n proc %+v\n fast %+v", i, x, y)
			}
		}
	}
	return ok
}

// TestIntegrationFastIn reads a namespace from outside it.
func TestIntegrationFastIn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to enter a network namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1)")
	}
	// A child in its own namespace listening on a TCP port.
	cmd := exec.Command(unshare, "-n", "sh", "-c", "ip link set lo up; exec python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",4711)); s.listen(); time.sleep(30)'")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start child:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	nsPath := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	var res Result
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		res, err = FastIn(nsPath, Options{Protos: []sock.Proto{sock.ProtoTCP}, Owners: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Sockets) > 0 {
			break
		}
	}
	if len(res.Sockets) != 1 || res.Sockets[0].Local.Port() != 4711 || res.Sockets[0].State != sock.StateListen {
		t.Fatalf("sockets in the child's namespace: %+v", res.Sockets)
	}
	if o := res.Sockets[0].Owners; len(o) != 1 || o[0].PID != int32(cmd.Process.Pid) {
		t.Fatalf("owners: %+v", o)
	}
	// Our own namespace is untouched afterwards.
	own, err := Fast(Options{Protos: []sock.Proto{sock.ProtoTCP}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range own.Sockets {
		if s.Local.Port() == 4711 && s.Inode == res.Sockets[0].Inode {
			t.Fatal("the child's socket shows in our namespace")
		}
	}
}
