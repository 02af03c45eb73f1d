//go:build linux

// Package e2e compares bpfstat with the reference tools on a socket zoo
// built in a private network namespace.
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary re-executes itself: once inside a new network namespace
// (envNetns), and as zoo processes (envRole) that create sockets, print
// "ready" and hold them until stdin closes.
const (
	envNetns = "BPFSTAT_E2E_NETNS"
	envRole  = "BPFSTAT_E2E_ROLE"
	envDir   = "BPFSTAT_E2E_DIR"
)

var bpfstatBin, zooBin string

func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		if err := runRole(role, os.Getenv(envDir)); err != nil {
			fmt.Fprintf(os.Stderr, "zoo %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Geteuid() == 0 && os.Getenv(envNetns) == "" {
		// Everything below runs in a namespace of our own with only lo:
		// no packet of the zoo can leave the machine, and reverse DNS
		// look-ups fail at once (no route) for netstat and bpfstat alike.
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), envNetns+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintf(os.Stderr, "re-executing in a new network namespace: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// setup builds bpfstat, brings lo up and starts the zoo.
func setup(t *testing.T) (dir string) { return setupZoo(t, true) }

func setupZoo(t *testing.T, build bool) (dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: builds a socket zoo in a private network namespace")
	}
	if _, err := exec.LookPath("netstat"); err != nil {
		t.Skip("needs net-tools netstat as the reference (apt-get install net-tools)")
	}
	if err := loUp(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	if err := nameFiles(); err != nil {
		t.Fatalf("mounting test name files: %v", err)
	}
	// Not t.TempDir: its parent is private, and zoo processes run as
	// nobody too.
	dir, err := os.MkdirTemp("", "bpfstat-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// The zoo runs from a copy every uid can execute.
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	zooBin = filepath.Join(dir, "zoo.test")
	if err := os.WriteFile(zooBin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if !build {
		return dir
	}
	bpfstatBin = filepath.Join(dir, "bpfstat")
	cmd := exec.Command("go", "build", "-o", bpfstatBin, "../../cmd/bpfstat")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building bpfstat: %v\n%s", err, out)
	}
	return dir
}

// nameFiles bind-mounts /etc/hosts and /etc/services of our own in this
// private mount namespace, so both tools resolve long names that force
// net-tools' address truncation.
func nameFiles() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	hosts := "127.0.0.1 localhost\n127.0.0.2 cachehost cache\n" +
		"127.0.0.3 a-remarkably-long-host-name-for-truncation.example\n" +
		"::1 ip6-localhost ip6-loopback\n"
	svc, err := os.ReadFile("/etc/services")
	if err != nil {
		return err
	}
	svc = append(svc, "an-unusually-long-service-name 7000/tcp\nshortsvc 11211/udp\n"...)
	for name, data := range map[string][]byte{"hosts": []byte(hosts), "services": svc} {
		f, err := os.CreateTemp("", "e2e-"+name)
		if err != nil {
			return err
		}
		f.Write(data)
		f.Close()
		os.Chmod(f.Name(), 0o644)
		if err := unix.Mount(f.Name(), "/etc/"+name, "", unix.MS_BIND, ""); err != nil {
			return err
		}
	}
	return nil
}

func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// zooProc is one running zoo process.
type zooProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startRole runs the test binary as a zoo process named name (its argv[0],
// which is what netstat shows as the program), as uid when uid >= 0.
func startRole(t *testing.T, dir, role, name string, uid int, extra []*os.File) *zooProc {
	t.Helper()
	cmd := exec.Command(zooBin)
	cmd.Args = []string{name}
	cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting zoo %s: %v", role, err)
	}
	p := &zooProc{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		p.stdin.Close()
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("zoo %s did not get ready: %q", role, line)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("zoo %s did not get ready in 20s", role)
	}
	return p
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

func runRole(role, dir string) error {
	switch role {
	case "web":
		// A pre-fork style server: the listener on :80 is also held by
		// the worker started with it (fd 3).
		l := tcpListen("0.0.0.0:80", false)
		tcpListen("[::]:8080", false)
		tcpListen("127.0.0.1:22", false)
		tcpListen("127.0.0.1:25", false)
		udpBind("0.0.0.0:53")
		udpBind("[::]:5353")
		unixListen(unix.SOCK_STREAM, filepath.Join(dir, "web.sock"))
		unixListen(unix.SOCK_STREAM, "@zoo-web-abstract")
		// The worker shares the :80 listener, as a pre-forked child would.
		w := exec.Command("/proc/self/exe")
		w.Args = []string{"zoo-worker"}
		w.Env = append(os.Environ(), envRole+"=worker")
		w.ExtraFiles = []*os.File{os.NewFile(uintptr(l), "listener")}
		w.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		w.Stderr = os.Stderr
		wout, err := w.StdoutPipe()
		must(err)
		win, err := w.StdinPipe()
		must(err)
		must(w.Start())
		line, _ := bufio.NewReader(wout).ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			return fmt.Errorf("worker did not get ready: %q", line)
		}
		defer func() { win.Close(); w.Wait() }()
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
	case "worker":
		holdFiles = append(holdFiles, 3) // inherited listener
	case "db":
		tcpListen("127.0.0.1:5432", false)
		tcpListen("[::1]:3306", true)
		c := tcpDial("127.0.0.1:80")
		fill(c)
		tcpDial("[::1]:8080")
		d := unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "db.dgram"))
		_ = d
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
	case "stranger":
		// A uid with no passwd entry: -e prints the number.
		tcpListen("127.0.0.3:7001", false)
		udpBind("127.0.0.3:11211")
	case "cache":
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
	case "closer":
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
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, fd := range holdFiles {
		unix.Close(fd)
	}
	return nil
}
