//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/bpfstat/bpfstat/internal/testns"
	"golang.org/x/sys/unix"
)

// More zoo roles, for cases the differential test should meet that the
// base zoo lacks: rarer TCP states, UDP-Lite, raw sockets of other
// protocols, odd unix names, odd command lines, a long program name and a
// socket whose lowest-pid holder is not its creator. All loopback.
var moreRoles = map[string]testns.Role{
	"states": roleStates, "lite": roleLite, "oddunix": roleOddUnix, "nocmd": roleNoCmdline,
	"nonul": roleNoNul, "share-parent": roleShareParent, "share-child": roleShareChild,
	"deep": roleDeep, "deferred": roleDeferred, "user": roleUser,
}

// startMoreZoo starts the extra roles (after startZoo).
func startMoreZoo(t *testing.T, env *testns.Env) {
	env.Start(t, "states", "zoo-states", -1)
	env.Start(t, "lite", "zoo-a-program-name-longer-than-nineteen", -1)
	env.Start(t, "oddunix", "zoo-oddunix", 65534)
	env.Start(t, "nocmd", "zoo-nocmd", -1)
	env.Start(t, "nonul", "/opt/zoo/zoo-nonul", -1)
	env.Start(t, "deferred", "zoo-deferred", 65534)
	// Users whose passwd entries are odd (see morePasswd).
	env.Start(t, "user", "zoo-longuser", 4244)
	env.Start(t, "user", "zoo-nisuser", 4245)
	// argv[0] longer than net-tools' 511-byte command line buffer.
	env.Start(t, "deep", "/"+strings.Repeat("d/", 300)+"zoo-deep", -1)
	env.Start(t, "share-parent", "/opt/zoo/bin/zoo-share-parent", -1)
}

// moreServices adds /etc/services lines (in this mount namespace) whose
// port fields only glibc's own parser reads right: hex, octal, past 16
// bits, doubled slashes, a '+' sign. They name the extra roles' ports.
func moreServices(t *testing.T) {
	t.Helper()
	svc, err := os.ReadFile("/etc/services")
	if err != nil {
		t.Fatal(err)
	}
	svc = append(svc, "zoo-hex 0x238c/tcp\nzoo-oct 021760/tcp\nzoo-wrap 74836/tcp\n"+
		"zoo-slashes 9400//tcp\nzoo-plus +9401/tcp\nzoo-udp-hex 0X251C/udp\nzoo-not 0x/tcp\n"...)
	if err := testns.BindFile("/etc/services", svc); err != nil {
		t.Fatalf("mounting test services file: %v", err)
	}
}

// try keeps a socket when the kernel supports it; optional kinds (e.g.
// UDP-Lite, on its way out of Linux) are skipped otherwise.
func try(fd int, err error) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "zoo: optional socket skipped: %v\n", err)
		return -1
	}
	holdFiles = append(holdFiles, fd)
	return fd
}

func acceptOne(l int) int {
	fd, _, err := unix.Accept(l)
	must(err)
	holdFiles = append(holdFiles, fd)
	return fd
}

func roleStates(string) error {
	l := tcpListen("127.0.0.1:9100", false)
	// FIN_WAIT1 with ESTABLISHED on the other end: our FIN waits behind
	// data the peer never reads.
	a := tcpDial("127.0.0.1:9100")
	acceptOne(l)
	fill(a)
	must(unix.Shutdown(a, unix.SHUT_WR))
	// LAST_ACK with FIN_WAIT2: the peer half-closed, we fill its window
	// and close ours.
	b := tcpDial("127.0.0.1:9100")
	sb := acceptOne(l)
	must(unix.Shutdown(b, unix.SHUT_WR))
	fill(sb)
	must(unix.Shutdown(sb, unix.SHUT_WR))
	// CLOSING with FIN_WAIT2: both send FINs, ours stays behind data.
	c := tcpDial("127.0.0.1:9100")
	sc := acceptOne(l)
	fill(c)
	must(unix.Shutdown(c, unix.SHUT_WR))
	must(unix.Shutdown(sc, unix.SHUT_WR))
	// SYN_SENT: a listener with backlog 0 holds one unaccepted
	// connection, so the kernel drops further SYNs (LISTENOVERFLOWS).
	for _, addr := range []string{"127.0.0.1:9200", "[::1]:9201"} {
		ap := netip.MustParseAddrPort(addr)
		fam := unix.AF_INET
		if ap.Addr().Is6() {
			fam = unix.AF_INET6
		}
		l0 := hold(unix.Socket(fam, unix.SOCK_STREAM, 0))
		must(unix.Bind(l0, sockaddr(ap)))
		must(unix.Listen(l0, 0))
		tcpDial(addr)
		s := hold(unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0))
		// Keep retrying SYNs for the whole test.
		must(unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_SYNCNT, 127))
		if err := unix.Connect(s, sockaddr(ap)); err != unix.EINPROGRESS {
			return fmt.Errorf("connecting to a full listener: %v", err)
		}
	}
	// A v4-mapped v6 listener and a v6 UDP socket talking to a v4 peer.
	tcpListen("[::ffff:127.0.0.1]:9300", false)
	u := udpBind("[::]:0")
	must(unix.Connect(u, sockaddr(netip.MustParseAddrPort("[::ffff:127.0.0.1]:53"))))
	udpBind("127.255.255.254:65535")
	// Bound and never listening nor connecting: in no table netstat
	// reads (inet_diag lists it since Linux 6.7 as BOUND_INACTIVE).
	bo := hold(unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0))
	must(unix.Bind(bo, sockaddr(netip.MustParseAddrPort("127.0.0.1:9800"))))
	return holdAll()
}

func roleLite(string) error {
	const udplite = unix.IPPROTO_UDPLITE
	if fd := try(unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, udplite)); fd >= 0 {
		must(unix.Bind(fd, sockaddr(netip.MustParseAddrPort("127.0.0.1:5000"))))
	}
	if fd := try(unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, udplite)); fd >= 0 {
		must(unix.Connect(fd, sockaddr(netip.MustParseAddrPort("127.0.0.1:5000"))))
		must(unix.Send(fd, []byte("lite datagram"), 0))
	}
	if fd := try(unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, udplite)); fd >= 0 {
		must(unix.Bind(fd, sockaddr(netip.MustParseAddrPort("[::]:5001"))))
	}
	if fd := try(unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, udplite)); fd >= 0 {
		must(unix.Connect(fd, sockaddr(netip.MustParseAddrPort("[::1]:5001"))))
	}
	// Raw sockets of protocols that collide with service ports (22, 53),
	// IPPROTO_RAW, and a bound and a connected one.
	hold(unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW))
	r22 := hold(unix.Socket(unix.AF_INET, unix.SOCK_RAW, 22))
	must(unix.Bind(r22, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 5}}))
	r53 := hold(unix.Socket(unix.AF_INET, unix.SOCK_RAW, 53))
	must(unix.Connect(r53, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	r6 := hold(unix.Socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_UDP))
	must(unix.Bind(r6, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}))
	return holdAll()
}

func roleOddUnix(dir string) error {
	// Abstract names with NUL bytes inside, and one that is only a NUL.
	unixListen(unix.SOCK_STREAM, "@zoo\x00with\x00nuls")
	unixListen(unix.SOCK_DGRAM, "@")
	// A path with a newline splits its /proc/net/unix line in two.
	unixListen(unix.SOCK_STREAM, filepath.Join(dir, "new\nline.sock"))
	// UTF-8 and a tab (sscanf's %s stops there) in paths.
	unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "zoö-ünïcode.sock"))
	unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "with\ttab.sock"))
	// Unbound and autobound sockets.
	hold(unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0))
	ab := hold(unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0))
	must(unix.Bind(ab, &unix.SockaddrUnix{Name: ""}))
	// A stream connection to a listener nobody accepts on.
	l := unixListen(unix.SOCK_STREAM, filepath.Join(dir, "odd.sock"))
	_ = l
	c := hold(unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0))
	must(unix.Connect(c, &unix.SockaddrUnix{Name: filepath.Join(dir, "odd.sock")}))
	return holdAll()
}

func roleNoCmdline(string) error {
	// An empty argv[0]: re-executed with no arguments at all, the kernel
	// (5.18+) gives the process one empty argument.
	if os.Getenv("ZOO_NOCMD_EXECED") == "" {
		os.Setenv("ZOO_NOCMD_EXECED", "1")
		return unix.Exec("/proc/self/exe", []string{}, os.Environ())
	}
	tcpListen("127.0.0.1:9400", false)
	return holdAll()
}

func roleNoNul(string) error {
	// A setproctitle-style command line: the NUL ending argv[0] is
	// overwritten, so the kernel reads on into the environment and the
	// command line has no NUL at all (net-tools then takes the last '/'
	// of argv[0] and the first environment string together).
	a := os.Args[0]
	p := unsafe.Add(unsafe.Pointer(unsafe.StringData(a)), len(a))
	*(*byte)(p) = ' '
	tcpListen("127.0.0.1:9401", false)
	return holdAll()
}

func roleDeferred(string) error {
	// SYN_RECV: with TCP_DEFER_ACCEPT the listener drops the bare final
	// ACK and keeps a request socket (with its own uid, timer and retry
	// count in /proc/net/tcp) until data comes, which it never does.
	for _, addr := range []string{"127.0.0.1:9600", "[::1]:9601"} {
		l := tcpListen(addr, true)
		must(unix.SetsockoptInt(l, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 3600))
		tcpDial(addr)
	}
	return holdAll()
}

func roleUser(string) error {
	tcpListen("127.0.0.1:0", false)
	return holdAll()
}

// morePasswd adds users (in this mount namespace): a name longer than
// netstat's 10-column User field, a second entry for the same uid (the
// first wins), and a NIS compat "+name" entry, which glibc's files
// backend never returns.
func morePasswd(t *testing.T) {
	t.Helper()
	pw, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	pw = append(pw, "zoo-user-with-a-long-name:x:4244:4244::/:/bin/false\n"+
		"zoo-second:x:4244:4244::/:/bin/false\n+zoo-nis:x:4245:4245::/:/bin/false\n"...)
	if err := testns.BindFile("/etc/passwd", pw); err != nil {
		t.Fatalf("mounting test passwd file: %v", err)
	}
}

func roleDeep(string) error {
	tcpListen("127.0.0.1:9403", false)
	return holdAll()
}

func roleShareParent(string) error {
	// The child creates sockets and hands them over: the parent, with the
	// lower pid, is who netstat names.
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	must(err)
	p, err := testns.StartChild("share-child", "zoo-share-child", os.NewFile(uintptr(sp[1]), "pair"))
	if err != nil {
		return err
	}
	defer p.Stop()
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(2*4))
	_, oobn, _, _, err := unix.Recvmsg(sp[0], buf, oob, 0)
	must(err)
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	must(err)
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		must(err)
		holdFiles = append(holdFiles, fds...)
	}
	return holdAll()
}

func roleShareChild(string) error {
	l := tcpListen("127.0.0.1:9500", false)
	u := udpBind("127.0.0.1:9500")
	must(unix.Sendmsg(3, []byte{0}, unix.UnixRights(l, u), nil, 0))
	return holdAll()
}

func init() {
	for k, v := range moreRoles {
		roles[k] = v
	}
}

// TestMoreZooCoverage guards the extra roles: what they are meant to add
// must be there.
func TestMoreZooCoverage(t *testing.T) {
	env := setupZoo(t, false)
	startMoreZoo(t, env)
	out := runTool(t, "/usr/bin/netstat", -1, "-tuwxaneep").stdout + runTool(t, "/usr/bin/netstat", -1, "-Uanp").stdout
	t.Logf("%s", out)
	for _, want := range []string{
		"SYN_SENT", "SYN_RECV", "FIN_WAIT1", "LAST_ACK", "CLOSING", "127.0.0.1:9300", "127.0.0.5:22", "udpl6",
		"@zoo@with@nuls", "/zoo-share-par", "/zoo-a-program", "zoo-oddunix", "127.255.255.254:65535", "127.0.0.1:9401",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("zoo lacks %q", want)
		}
	}
	moreServices(t)
	morePasswd(t)
	named := runTool(t, "/usr/bin/netstat", -1, "-tuae").stdout
	for _, want := range []string{"zoo-user-with-a-long-name", " 4245 ", "zoo-hex", "zoo-oct", "zoo-wrap", "zoo-slashes", "zoo-plus", "zoo-udp-hex"} {
		if !strings.Contains(named, want) {
			t.Errorf("netstat does not name a port %q:\n%s", want, named)
		}
	}
}
