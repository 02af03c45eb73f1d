//go:build linux

// Package attribution checks bpfstat fuser and bpfstat sockstat against
// psmisc fuser, ss -p and lsof on processes it starts in a private network
// namespace: a pre-fork server, a socket passed over SCM_RIGHTS, a process
// that exits leaving a child holding its socket, a socket owned by nobody,
// and unix stream and datagram sockets with peers.
package attribution

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unsafe"

	"github.com/bpfstat/bpfstat/internal/testns"
	"golang.org/x/sys/unix"
)

var roles = map[string]testns.Role{
	"prefork": rolePrefork, "scm": roleSCM, "recv": roleRecv, "exiter": roleExiter,
	"nobody": roleNobody, "unix": roleUnix, "client": roleClient, "weird": roleWeird,
	"files": roleFiles, "victim": roleVictim, "netns": roleNetns, "hold": roleHold,
}

func TestMain(m *testing.M) { testns.Main(m, roles) }

// zoo is the running set of processes, shared by every test of the
// package, and what they reported.
type zoo struct {
	env   *testns.Env
	dir   string
	bin   string           // bpfstat
	roles map[string][]int // role -> its pid, then the children it reported
	pids  map[int]string   // every zoo pid -> role
}

var theZoo *zoo

// setup builds bpfstat and starts the zoo once for the package.
func setup(t *testing.T) *zoo {
	t.Helper()
	testns.RequireRoot(t, "runs a socket zoo in a private network namespace")
	testns.Shared(t, startZoo)
	return theZoo
}

func startZoo(t *testing.T, env *testns.Env) {
	// A filesystem of our own for fuser -m: private to this mount
	// namespace (testns.Main made mounts private).
	mnt := filepath.Join(env.Dir, "mnt")
	if err := os.Mkdir(mnt, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "mode=0777"); err != nil {
		t.Fatalf("mounting tmpfs: %v", err)
	}
	env.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(mnt, "file"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o777); err != nil {
		t.Fatal(err)
	}
	z := &zoo{env: env, dir: env.Dir, roles: map[string][]int{}, pids: map[int]string{}}
	z.bin = env.Build(t, "../../cmd/bpfstat")
	for _, r := range []struct {
		role string
		uid  int
	}{{"prefork", -1}, {"scm", -1}, {"exiter", -1}, {"nobody", 65534}, {"unix", -1}, {"client", -1}, {"weird", -1}, {"files", -1}} {
		p := env.Start(t, r.role, "zoo-"+r.role, r.uid)
		pids := []int{p.Cmd.Process.Pid}
		for _, f := range p.Info {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("role %s reported %q, not a pid", r.role, f)
			}
			pids = append(pids, n)
		}
		if r.role == "exiter" {
			// Gone once reaped: only its child holds 7020 now.
			p.Wait()
			pids[0] = 0
		}
		z.roles[r.role] = pids
		for _, pid := range pids {
			if pid != 0 {
				z.pids[pid] = r.role
			}
		}
	}
	theZoo = z
}

// --- the roles ---

// hold keeps the role's sockets until it is stopped, after reporting the
// pids of the children it started.
func hold(children ...*testns.Proc) error {
	pids := make([]string, len(children))
	for i, c := range children {
		pids[i] = strconv.Itoa(c.Cmd.Process.Pid)
	}
	testns.Ready(pids...)
	for _, c := range children {
		c.Stop()
	}
	return nil
}

// roleHold keeps the fds it inherited (3, 4, ...).
func roleHold(string) error { return hold() }

// rolePrefork: one process opens the listeners, three workers inherit them.
func rolePrefork(string) error {
	var files []*os.File
	for _, fd := range []int{
		tcpListen(unix.AF_INET, "127.0.0.1", 7001, false),
		tcpListen(unix.AF_INET6, "::", 7002, false),
		udpBind("127.0.0.1", 7003),
		tcpListen(unix.AF_INET6, "::", 7004, true),
	} {
		files = append(files, os.NewFile(uintptr(fd), "listener"))
	}
	var workers []*testns.Proc
	for range 3 {
		w, err := testns.StartChild("hold", "zoo-prefork-worker", files...)
		if err != nil {
			return err
		}
		workers = append(workers, w)
	}
	return hold(workers...)
}

// roleSCM passes a listener over a unix socket: the sender keeps its copy.
func roleSCM(string) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	l := tcpListen(unix.AF_INET, "127.0.0.1", 7010, false)
	if err := unix.Sendmsg(pair[0], []byte{'x'}, unix.UnixRights(l), nil, 0); err != nil {
		return err
	}
	peer := os.NewFile(uintptr(pair[1]), "pair")
	r, err := testns.StartChild("recv", "zoo-recv", peer)
	if err != nil {
		return err
	}
	peer.Close()
	ack := make([]byte, 1)
	unix.Read(pair[0], ack)
	return hold(r)
}

// roleRecv dups the received fd up high so it differs from the sender's.
func roleRecv(string) error {
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
	return hold()
}

// roleExiter exits once its child holds 7020; 7021 dies with it.
func roleExiter(string) error {
	l := tcpListen(unix.AF_INET, "127.0.0.1", 7020, false)
	tcpListen(unix.AF_INET, "127.0.0.1", 7021, false)
	h, err := testns.StartHeir("hold", "zoo-heir", os.NewFile(uintptr(l), "listener"))
	if err != nil {
		return err
	}
	testns.Announce(strconv.Itoa(h.Cmd.Process.Pid))
	return nil
}

func roleNobody(dir string) error {
	tcpListen(unix.AF_INET, "127.0.0.1", 7030, false)
	unixListen(unix.SOCK_STREAM, filepath.Join(dir, "nobody.sock"))
	return hold()
}

func roleUnix(dir string) error {
	s := unixListen(unix.SOCK_STREAM, filepath.Join(dir, "u.sock"))
	unixConnect(unix.SOCK_STREAM, filepath.Join(dir, "u.sock"))
	if _, _, err := unix.Accept4(s, unix.SOCK_CLOEXEC); err != nil {
		return err
	}
	unixListen(unix.SOCK_DGRAM, filepath.Join(dir, "d.sock"))
	unixConnect(unix.SOCK_DGRAM, filepath.Join(dir, "d.sock"))
	unixConnect(unix.SOCK_DGRAM, filepath.Join(dir, "d.sock"))
	if _, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0); err != nil {
		return err
	}
	return hold()
}

func roleClient(string) error {
	tcpConnect(unix.AF_INET, "127.0.0.1", 7001)
	tcpConnect(unix.AF_INET6, "::1", 7002)
	tcpConnect(unix.AF_INET, "127.0.0.1", 7002)
	udpConnect("127.0.0.1", 7003)
	return hold()
}

// roleVictim holds 7050 until a test signals or stops it.
func roleVictim(string) error {
	tcpListen(unix.AF_INET, "127.0.0.1", 7050, false)
	return hold()
}

// roleNetns is started in a network namespace of its own (lo down):
// a wildcard listener.
func roleNetns(string) error {
	tcpListen(unix.AF_INET, "0.0.0.0", 7060, false)
	return hold()
}

// roleWeird has a command name psmisc must escape: UTF-8 and a parenthesis.
func roleWeird(string) error {
	name := append([]byte("h\xc3\xa9l(l)o w\xc3\xb6rld"), 0)
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
		return err
	}
	tcpListen(unix.AF_INET, "127.0.0.1", 7040, false)
	return hold()
}

// roleFiles uses the tmpfs: cwd in it, a file open for reading and one
// for writing.
func roleFiles(dir string) error {
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
	return hold()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func sockaddr(family int, host string, port int) unix.Sockaddr {
	ip := netip.MustParseAddr(host)
	if family == unix.AF_INET {
		return &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	return &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
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
