package snapshot

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func inodeOf(t *testing.T, fd int) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestUnixPeers(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	a, b := inodeOf(t, fds[0]), inodeOf(t, fds[1])

	peers, err := UnixPeers()
	if err != nil {
		t.Skipf("sock_diag for unix sockets unavailable: %v", err)
	}
	if peers[a].Peer != b || peers[b].Peer != a {
		t.Errorf("socketpair %d<->%d: got peers %+v and %+v", a, b, peers[a], peers[b])
	}
	if !peers[a].HasUID || peers[a].UID != uint32(os.Geteuid()) {
		t.Errorf("uid of %d = %+v, want %d", a, peers[a], os.Geteuid())
	}
}

func TestInetV6Only(t *testing.T) {
	mk := func(v6only int) (int, uint64) {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Skipf("no IPv6: %v", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			t.Fatal(err)
		}
		// The wildcard: binding ::1 would set V6ONLY by itself.
		if err := unix.Bind(fd, &unix.SockaddrInet6{}); err != nil {
			t.Skipf("binding [::]: %v", err)
		}
		if err := unix.Listen(fd, 1); err != nil {
			t.Fatal(err)
		}
		return fd, inodeOf(t, fd)
	}
	fd1, only := mk(1)
	defer unix.Close(fd1)
	fd2, dual := mk(0)
	defer unix.Close(fd2)
	m, err := InetV6Only(unix.IPPROTO_TCP)
	if err != nil {
		t.Skipf("inet_diag unavailable: %v", err)
	}
	if v, ok := m[only]; !ok || !v {
		t.Errorf("v6only listener %d: got %v, %v", only, v, ok)
	}
	if v, ok := m[dual]; !ok || v {
		t.Errorf("dual-stack listener %d: got %v, %v", dual, v, ok)
	}
}

func TestUnixPeersListener(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cf, _ := c.(*net.UnixConn).File()
	defer cf.Close()
	sf, _ := s.(*net.UnixConn).File()
	defer sf.Close()
	ci, si := inodeOf(t, int(cf.Fd())), inodeOf(t, int(sf.Fd()))
	peers, err := UnixPeers()
	if err != nil {
		t.Skipf("sock_diag for unix sockets unavailable: %v", err)
	}
	if peers[ci].Peer != si || peers[si].Peer != ci {
		t.Errorf("stream %d<->%d: got %+v, %+v", ci, si, peers[ci], peers[si])
	}
}
