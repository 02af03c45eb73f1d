//go:build linux

// Package e2e compares bpfstat with the reference tools on a socket zoo
// built in a private network namespace.
package e2e

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/testns"
	"golang.org/x/sys/unix"
)

var bpfstatBin string

var roles = map[string]testns.Role{
	"web": roleWeb, "worker": roleWorker, "db": roleDB, "cache": roleCache,
	"closer": roleCloser, "stranger": roleStranger,
}

func TestMain(m *testing.M) { testns.Main(m, roles) }

// setup makes the test's environment: bpfstat built, and (in this mount
// namespace only) /etc/hosts and /etc/services of our own, so both tools
// resolve long names that force net-tools' address truncation. Reverse
// DNS look-ups fail at once here (no route) for netstat and bpfstat alike.
func setup(t *testing.T) *testns.Env { return setupZoo(t, true) }

func setupZoo(t *testing.T, build bool) *testns.Env {
	t.Helper()
	testns.RequireRoot(t, "builds a socket zoo in a private network namespace")
	if _, err := exec.LookPath("netstat"); err != nil {
		t.Skip("needs net-tools netstat as the reference (apt-get install net-tools)")
	}
	hosts := "127.0.0.1 localhost\n127.0.0.2 cachehost cache\n" +
		"127.0.0.3 a-remarkably-long-host-name-for-truncation.example\n" +
		"::1 ip6-localhost ip6-loopback\n"
	svc, err := os.ReadFile("/etc/services")
	if err != nil {
		t.Fatal(err)
	}
	svc = append(svc, "an-unusually-long-service-name 7000/tcp\nshortsvc 11211/udp\n"...)
	if err := testns.BindFile("/etc/hosts", []byte(hosts)); err != nil {
		t.Fatalf("mounting test hosts file: %v", err)
	}
	if err := testns.BindFile("/etc/services", svc); err != nil {
		t.Fatalf("mounting test services file: %v", err)
	}
	env := testns.NewEnv(t)
	if build {
		bpfstatBin = env.Build(t, "../../cmd/bpfstat")
	}
	return env
}

// startZoo starts every zoo process: distinct program names (one given as
// an absolute path, one with spaces in argv[0]), root, nobody and a uid
// without a passwd entry.
func startZoo(t *testing.T, env *testns.Env) {
	env.Start(t, "web", "zoo-web", -1)
	env.Start(t, "db", "/usr/local/sbin/zoo-db", -1)
	env.Start(t, "cache", "zoo-cache", 65534)
	env.Start(t, "closer", "zoo closer --with args", -1)
	env.Start(t, "stranger", "zoo-stranger", 4242)
}

// holdFiles are sockets a role keeps open until stdin closes.
var holdFiles []int

func hold(fd int, err error) int {
	if err != nil {
		panic(err)
	}
	holdFiles = append(holdFiles, fd)
	return fd
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func tcpListen(addr string, v6only bool) int {
	ap := netip.MustParseAddrPort(addr)
	fam := unix.AF_INET
	if ap.Addr().Is6() {
		fam = unix.AF_INET6
	}
	fd := hold(unix.Socket(fam, unix.SOCK_STREAM, unix.IPPROTO_TCP))
	must(unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	if fam == unix.AF_INET6 {
		v := 0
		if v6only {
			v = 1
		}
		must(unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v))
	}
	must(unix.Bind(fd, sockaddr(ap)))
	must(unix.Listen(fd, 64))
	return fd
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func tcpDial(addr string) int {
	ap := netip.MustParseAddrPort(addr)
	fam := unix.AF_INET
	if ap.Addr().Is6() {
		fam = unix.AF_INET6
	}
	fd := hold(unix.Socket(fam, unix.SOCK_STREAM, unix.IPPROTO_TCP))
	must(unix.Connect(fd, sockaddr(ap)))
	return fd
}

func udpBind(addr string) int {
	ap := netip.MustParseAddrPort(addr)
	fam := unix.AF_INET
	if ap.Addr().Is6() {
		fam = unix.AF_INET6
	}
	fd := hold(unix.Socket(fam, unix.SOCK_DGRAM, unix.IPPROTO_UDP))
	must(unix.Bind(fd, sockaddr(ap)))
	return fd
}

func unixListen(typ int, path string) int {
	fd := hold(unix.Socket(unix.AF_UNIX, typ, 0))
	must(unix.Bind(fd, &unix.SockaddrUnix{Name: path}))
	if typ != unix.SOCK_DGRAM {
		must(unix.Listen(fd, 16))
	}
	return fd
}

// fill writes to a non-blocking socket until the kernel refuses more, so
// the peer's Recv-Q and our Send-Q are both non-zero.
func fill(fd int) {
	must(unix.SetNonblock(fd, true))
	buf := make([]byte, 65536)
	for i := 0; i < 4096; i++ {
		if _, err := unix.Write(fd, buf); err != nil {
			return
		}
	}
}

// holdAll reports ready and keeps the role's sockets until it is stopped.
func holdAll() error {
	time.Sleep(100 * time.Millisecond)
	testns.Ready()
	for _, fd := range holdFiles {
		unix.Close(fd)
	}
	return nil
}

func roleWeb(dir string) error {
	// A pre-fork style server: the listener on :80 is also held by the
	// worker it starts (fd 3).
	l := tcpListen("0.0.0.0:80", false)
	tcpListen("[::]:8080", false)
	tcpListen("127.0.0.1:22", false)
	tcpListen("127.0.0.1:25", false)
	udpBind("0.0.0.0:53")
	udpBind("[::]:5353")
	unixListen(unix.SOCK_STREAM, filepath.Join(dir, "web.sock"))
	unixListen(unix.SOCK_STREAM, "@zoo-web-abstract")
	w, err := testns.StartChild("worker", "zoo-worker", os.NewFile(uintptr(l), "listener"))
	if err != nil {
		return err
	}
	defer w.Stop()
	// Accept whatever arrives, never read it.
	go func() {
		for i := 0; i < 64; i++ {
			nfd, _, err := unix.Accept(l)
			if err != nil {
				return
			}
			holdFiles = append(holdFiles, nfd)
		}
	}()
	return holdAll()
}

func roleWorker(string) error {
	holdFiles = append(holdFiles, 3) // the inherited listener
	return holdAll()
}

func roleDB(dir string) error {
	tcpListen("127.0.0.1:5432", false)
	tcpListen("[::1]:3306", true)
	c := tcpDial("127.0.0.1:80")
	fill(c)
	tcpDial("[::1]:8080")
	unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "db.dgram"))
	s := hold(unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0))
	for i := 0; i < 3; i++ {
		must(unix.Sendto(s, []byte("queued datagram"), 0, &unix.SockaddrUnix{Name: filepath.Join(dir, "db.dgram")}))
	}
	unixListen(unix.SOCK_SEQPACKET, filepath.Join(dir, "db.seqpacket"))
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	must(err)
	holdFiles = append(holdFiles, sp[0], sp[1])
	c2 := hold(unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0))
	must(unix.Connect(c2, &unix.SockaddrUnix{Name: filepath.Join(dir, "web.sock")}))
	hold(unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP))
	hold(unix.Socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6))
	return holdAll()
}

func roleStranger(string) error {
	// A uid with no passwd entry: -e prints the number.
	tcpListen("127.0.0.3:7001", false)
	udpBind("127.0.0.3:11211")
	return holdAll()
}

func roleCache(dir string) error {
	tcpListen("127.0.0.2:11211", false)
	u := udpBind("127.0.0.3:0")
	must(unix.Connect(u, sockaddr(netip.MustParseAddrPort("127.0.0.1:53"))))
	for i := 0; i < 4; i++ {
		must(unix.Send(u, []byte("a datagram nobody reads"), 0))
	}
	u6 := udpBind("[::1]:0")
	must(unix.Connect(u6, sockaddr(netip.MustParseAddrPort("[::1]:5353"))))
	must(unix.Send(u6, []byte("v6 datagram"), 0))
	long := filepath.Join(dir, strings.Repeat("l", 100-len(dir)))
	unixListen(unix.SOCK_STREAM, long)
	unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "with space.sock"))
	return holdAll()
}

func roleCloser(string) error {
	// FIN_WAIT2 here and CLOSE_WAIT in web: half-close toward :8080.
	c := tcpDial("127.0.0.1:8080")
	must(unix.Shutdown(c, unix.SHUT_WR))
	// TIME_WAIT: an active close on a connection we accept ourselves.
	l := tcpListen("127.0.0.1:7000", false)
	for i := 0; i < 2; i++ {
		cl, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
		must(err)
		must(unix.Connect(cl, sockaddr(netip.MustParseAddrPort("127.0.0.1:7000"))))
		sv, _, err := unix.Accept(l)
		must(err)
		unix.Close(cl)
		time.Sleep(20 * time.Millisecond)
		unix.Close(sv)
	}
	// Keepalive timer on an established pair.
	k := tcpDial("127.0.0.1:22")
	must(unix.SetsockoptInt(k, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1))
	must(unix.SetsockoptInt(k, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 3600))
	return holdAll()
}
