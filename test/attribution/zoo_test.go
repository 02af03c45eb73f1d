//go:build linux

// Package attribution checks bpfstat fuser and bpfstat sockstat against
// psmisc fuser, ss -p and lsof on processes it starts in a private network
// namespace: a pre-fork server, a socket passed over SCM_RIGHTS, a process
// that exits leaving a child holding its socket, a socket owned by nobody,
// and unix stream and datagram sockets with peers.
package attribution

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	envNetns = "BPFSTAT_ATTR_NETNS"
	envRole  = "BPFSTAT_ATTR_ROLE"
	envDir   = "BPFSTAT_ATTR_DIR"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		if err := runRole(role, os.Getenv(envDir)); err != nil {
			fmt.Fprintf(os.Stderr, "role %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Geteuid() == 0 && os.Getenv(envNetns) == "" {
		// A namespace of our own with only lo: nothing the zoo does can
		// leave the machine.
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), envNetns+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		// And a mount namespace, for the tmpfs of the -m tests.
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
	code := m.Run()
	stopZoo()
	os.Exit(code)
}

// zoo is the running set of processes and what they reported.
type zoo struct {
	dir   string
	bin   string // bpfstat, also linked as dir/fuser and dir/sockstat
	procs []*zooProc
	pids  map[int]string // every zoo pid -> role
}

type zooProc struct {
	role  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pids  []int // the process and the children it reported
}

var theZoo *zoo

// setup builds bpfstat and starts the zoo once for the package.
func setup(t *testing.T) *zoo {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(envNetns) == "" {
		t.Skip("needs root: runs a socket zoo in a private network namespace")
	}
	if theZoo != nil {
		return theZoo
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bringing lo up: %v\n%s", err, out)
	}
	dir, err := os.MkdirTemp("", "bpfstat-attr-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	// A filesystem of our own for fuser -m: private to this namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("making mounts private: %v", err)
	}
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o777)
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "mode=0777"); err != nil {
		t.Fatalf("mounting tmpfs: %v", err)
	}
	os.WriteFile(filepath.Join(mnt, "file"), []byte("x"), 0o666)
	os.Mkdir(filepath.Join(mnt, "d"), 0o777)
	z := &zoo{dir: dir, pids: map[int]string{}}
	z.bin = filepath.Join(dir, "bpfstat")
	if out, err := exec.Command("go", "build", "-o", z.bin, "../../cmd/bpfstat").CombinedOutput(); err != nil {
		t.Fatalf("building bpfstat: %v\n%s", err, out)
	}
	for _, n := range []string{"fuser", "sockstat"} {
		if err := os.Symlink(z.bin, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	// Roles run from a copy nobody may execute.
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	zooBin := filepath.Join(dir, "zoo.test")
	if err := os.WriteFile(zooBin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		role string
		uid  int
	}{{"prefork", 0}, {"scm", 0}, {"exiter", 0}, {"nobody", 65534}, {"unix", 0}, {"client", 0}, {"weird", 0}, {"files", 0}} {
		p := startRole(t, zooBin, dir, r.role, r.uid)
		z.procs = append(z.procs, p)
		for _, pid := range p.pids {
			z.pids[pid] = r.role
		}
	}
	// The exiter's own process is gone: only its child holds 7020.
	for _, p := range z.procs {
		if p.role == "exiter" {
			// Reap it without cmd.Wait, which would close the stdin its
			// child still holds.
			var ws syscall.WaitStatus
			syscall.Wait4(p.cmd.Process.Pid, &ws, 0, nil)
			delete(z.pids, p.cmd.Process.Pid)
		}
	}
	theZoo = z
	return z
}

// stopZoo ends the zoo: closing stdin ends every role and holder.
func stopZoo() {
	if theZoo == nil {
		return
	}
	for _, p := range theZoo.procs {
		p.stdin.Close()
		if p.role != "exiter" {
			p.cmd.Wait()
		}
	}
	unix.Unmount(filepath.Join(theZoo.dir, "mnt"), unix.MNT_DETACH)
	os.RemoveAll(theZoo.dir)
	theZoo = nil
}

// startRole runs the test binary as role and waits for "ready PID...".
func startRole(t *testing.T, bin, dir, role string, uid int) *zooProc {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid != 0 {
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
		t.Fatalf("starting %s: %v", role, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("role %s: got %q, %v", role, line, err)
	}
	p := &zooProc{role: role, cmd: cmd, stdin: stdin, pids: []int{cmd.Process.Pid}}
	for _, f := range strings.Fields(line)[1:] {
		n, _ := strconv.Atoi(f)
		p.pids = append(p.pids, n)
	}
	return p
}

// --- the roles ---

func runRole(role, dir string) error {
	var children []int
	switch role {
	case "prefork":
		// One process opens the listeners, three workers inherit them.
		fds := []int{
			tcpListen(unix.AF_INET, "127.0.0.1", 7001, false),
			tcpListen(unix.AF_INET6, "::", 7002, false),
			udpBind("127.0.0.1", 7003),
			tcpListen(unix.AF_INET6, "::", 7004, true),
		}
		for range 3 {
			children = append(children, spawnHolder(dir, fds))
		}
	case "scm":
		// A listener passed over a unix socket: the sender keeps its copy.
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		l := tcpListen(unix.AF_INET, "127.0.0.1", 7010, false)
		if err := unix.Sendmsg(pair[0], []byte{'x'}, unix.UnixRights(l), nil, 0); err != nil {
			return err
		}
		children = append(children, spawn(dir, "recv", []int{pair[1]}))
		unix.Close(pair[1])
		ack := make([]byte, 1)
		unix.Read(pair[0], ack)
	case "recv":
		// Dup the received fd up high so it differs from the sender's.
		buf, oob := make([]byte, 1), make([]byte, 64)
		_, oobn, _, _, err := unix.Recvmsg(3, buf, oob, 0)
		if err != nil {
			return err
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			return fmt.Errorf("no SCM_RIGHTS: %v", err)
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil {
			return err
		}
		if err := unix.Dup3(fds[0], 40, 0); err != nil {
			return err
		}
		unix.Close(fds[0])
		unix.Write(3, []byte{'k'})
	case "exiter":
		// Exits once its child holds 7020; 7021 dies with it.
		l := tcpListen(unix.AF_INET, "127.0.0.1", 7020, false)
		tcpListen(unix.AF_INET, "127.0.0.1", 7021, false)
		children = append(children, spawnHolder(dir, []int{l}))
		fmt.Printf("ready %s\n", joinInts(children))
		return nil
	case "nobody":
		tcpListen(unix.AF_INET, "127.0.0.1", 7030, false)
		unixListen(unix.SOCK_STREAM, filepath.Join(dir, "nobody.sock"))
	case "unix":
		s := unixListen(unix.SOCK_STREAM, filepath.Join(dir, "u.sock"))
		c := unixConnect(unix.SOCK_STREAM, filepath.Join(dir, "u.sock"))
		_ = c
		if _, _, err := unix.Accept4(s, unix.SOCK_CLOEXEC); err != nil {
			return err
		}
		unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "d.sock"))
		unixConnect(unix.SOCK_DGRAM, filepath.Join(dir, "d.sock"))
		unixConnect(unix.SOCK_DGRAM, filepath.Join(dir, "d.sock"))
		if _, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0); err != nil {
			return err
		}
	case "client":
		tcpConnect(unix.AF_INET, "127.0.0.1", 7001)
		tcpConnect(unix.AF_INET6, "::1", 7002)
		tcpConnect(unix.AF_INET, "127.0.0.1", 7002)
		udpConnect("127.0.0.1", 7003)
	case "victim":
		tcpListen(unix.AF_INET, "127.0.0.1", 7050, false)
		fmt.Print("ready\n")
		time.Sleep(time.Hour) // until a test signals it (Pdeathsig bounds it too)
		return nil
	case "netns":
		// Started in a network namespace of its own (lo down): wildcard.
		tcpListen(unix.AF_INET, "0.0.0.0", 7060, false)
	case "weird":
		// A command name psmisc must escape: UTF-8 and a parenthesis.
		name := append([]byte("h\xc3\xa9l(l)o w\xc3\xb6rld"), 0)
		if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
			return err
		}
		tcpListen(unix.AF_INET, "127.0.0.1", 7040, false)
	case "files":
		// Uses the tmpfs: cwd in it, a file open for reading and one
		// for writing.
		mnt := filepath.Join(dir, "mnt")
		if err := os.Chdir(filepath.Join(mnt, "d")); err != nil {
			return err
		}
		if _, err := unix.Open(filepath.Join(mnt, "file"), unix.O_RDONLY, 0); err != nil {
			return err
		}
		if _, err := unix.Open(filepath.Join(mnt, "w"), unix.O_WRONLY|unix.O_CREAT, 0o644); err != nil {
			return err
		}
	case "hold":
	default:
		return fmt.Errorf("unknown role")
	}
	fmt.Printf("ready %s\n", joinInts(children))
	io.Copy(io.Discard, os.Stdin) // hold everything until stdin closes
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

// spawnHolder starts a "hold" child inheriting fds (as 3, 4, ...).
func spawnHolder(dir string, fds []int) int { return spawn(dir, "hold", fds) }

func spawn(dir, role string, fds []int) int {
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir)
	for _, fd := range fds {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(fd), "inherited"))
	}
	cmd.Stdin = os.Stdin // the holder ends with its parent's stdin
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: false}
	out, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		panic(fmt.Sprintf("child %s: %q %v", role, line, err))
	}
	return cmd.Process.Pid
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func sockaddr(family int, host string, port int) unix.Sockaddr {
	if family == unix.AF_INET {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], netIP4(host))
		return sa
	}
	sa := &unix.SockaddrInet6{Port: port}
	if host == "::1" {
		sa.Addr[15] = 1
	}
	return sa
}

func netIP4(h string) []byte {
	var b [4]byte
	for i, p := range strings.Split(h, ".") {
		n, _ := strconv.Atoi(p)
		b[i] = byte(n)
	}
	return b[:]
}

// Plain sockets, not Go's net package: Go listens with MPTCP by default.
func tcpListen(family int, host string, port int, v6only bool) int {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(err)
	must(unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	if family == unix.AF_INET6 {
		v := 0
		if v6only {
			v = 1
		}
		must(unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v))
	}
	must(unix.Bind(fd, sockaddr(family, host, port)))
	must(unix.Listen(fd, 16))
	return fd
}

func tcpConnect(family int, host string, port int) int {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(err)
	must(unix.Connect(fd, sockaddr(family, host, port)))
	return fd
}

func udpBind(host string, port int) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	must(err)
	must(unix.Bind(fd, sockaddr(unix.AF_INET, host, port)))
	return fd
}

func udpConnect(host string, port int) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	must(err)
	must(unix.Connect(fd, sockaddr(unix.AF_INET, host, port)))
	return fd
}

func unixListen(typ int, path string) int {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	must(err)
	must(unix.Bind(fd, &unix.SockaddrUnix{Name: path}))
	if typ != unix.SOCK_DGRAM {
		must(unix.Listen(fd, 16))
	}
	return fd
}

func unixConnect(typ int, path string) int {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	must(err)
	must(unix.Connect(fd, &unix.SockaddrUnix{Name: path}))
	return fd
}
