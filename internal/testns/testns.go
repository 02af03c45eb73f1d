//go:build linux

package testns

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	envInside = "BPFSTAT_TESTNS_INSIDE"
	envRole   = "BPFSTAT_TESTNS_ROLE"
	envDir    = "BPFSTAT_TESTNS_DIR"
)

// Role is a helper process's body. It creates what it must, calls Ready,
// and returns when its test is done with it.
type Role func(dir string) error

// Main is a TestMain body. In a role process it runs the role and exits.
// As root outside a namespace it re-executes the test binary in new
// network and mount namespaces (lo is brought up there). Otherwise it runs
// the tests, then ends the Shared environment if one was made.
func Main(m *testing.M, roles map[string]Role) {
	if name := os.Getenv(envRole); name != "" {
		role, ok := roles[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown role %q\n", name)
			os.Exit(2)
		}
		if err := role(os.Getenv(envDir)); err != nil {
			fmt.Fprintf(os.Stderr, "role %s: %v\n", name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Geteuid() == 0 && os.Getenv(envInside) == "" {
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Args[0] = os.Args[0]
		cmd.Env = append(os.Environ(), envInside+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintf(os.Stderr, "re-executing in new namespaces: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envInside) != "" {
		if err := LoUp(); err != nil {
			fmt.Fprintf(os.Stderr, "bringing lo up: %v\n", err)
			os.Exit(1)
		}
		// Bind mounts made by tests stay in this namespace.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintf(os.Stderr, "making mounts private: %v\n", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	endShared()
	os.Exit(code)
}

// Inside reports whether the tests run in namespaces of their own.
func Inside() bool { return os.Getenv(envInside) != "" }

// RequireRoot skips t unless the tests run as root in their namespaces.
func RequireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 || !Inside() {
		t.Skipf("needs root (%s); not root, so not run", why)
	}
}

// LoUp brings the loopback interface up.
func LoUp() error {
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

// BindFile replaces path (e.g. /etc/hosts) with content in this mount
// namespace.
func BindFile(path string, content []byte) error {
	f, err := os.CreateTemp("", "testns-"+filepath.Base(path))
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	f.Close()
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return unix.Mount(f.Name(), path, "", unix.MS_BIND, "")
}

// Env is a shared directory: world-writable, holding a copy of the test
// binary every uid may run. It lasts as long as the test that made it
// (NewEnv) or as the whole run (Shared), and so do the roles started in it.
type Env struct {
	Dir     string
	bin     string
	cleanup func(func())
}

// NewEnv makes an Env removed when t ends.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	e, err := newEnv(t.Cleanup)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newEnv(cleanup func(func())) (*Env, error) {
	// Not t.TempDir: its parent is private, and roles may run as nobody.
	dir, err := os.MkdirTemp("", "bpfstat-testns-")
	if err != nil {
		return nil, fmt.Errorf("making the shared directory: %w", err)
	}
	cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, fmt.Errorf("opening the shared directory to all: %w", err)
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("reading the test binary: %w", err)
	}
	bin := filepath.Join(dir, "roles.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		return nil, fmt.Errorf("copying the test binary: %w", err)
	}
	return &Env{Dir: dir, bin: bin, cleanup: cleanup}, nil
}

// The Shared environment, made on first use and ended by Main.
var shared struct {
	sync.Mutex
	env      *Env
	ready    bool
	cleanups []func()
}

// Shared returns the run's one shared Env, for many tests looking at the
// same slow-to-build world. The first call makes it and fills it with
// setup (building binaries, starting roles) under its own t; the Env and
// its roles then last until Main's tests are over. If setup failed
// (t.Fatal), every later call fails too. It needs Main as TestMain.
func Shared(t *testing.T, setup func(t *testing.T, e *Env)) *Env {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.env != nil {
		if !shared.ready {
			t.Fatal("the shared test environment failed to set up in an earlier test")
		}
		return shared.env
	}
	e, err := newEnv(func(f func()) { shared.cleanups = append(shared.cleanups, f) })
	if err != nil {
		t.Fatal(err)
	}
	shared.env = e
	setup(t, e)
	shared.ready = true // not reached if setup called t.Fatal
	return e
}

// endShared runs the Shared Env's cleanups, last registered first.
func endShared() {
	shared.Lock()
	defer shared.Unlock()
	for i := len(shared.cleanups) - 1; i >= 0; i-- {
		shared.cleanups[i]()
	}
	shared.cleanups = nil
}

// Cleanup registers f to run when the Env ends, before its directory is
// removed.
func (e *Env) Cleanup(f func()) { e.cleanup(f) }

// Binary is the path of the Env's copy of the test binary, the executable
// of every role started in it.
func (e *Env) Binary() string { return e.bin }

// Build compiles the Go package pkg (a path relative to the test's
// directory) into the Env and returns the binary's path.
func (e *Env) Build(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(e.Dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Result is what a command printed and how it exited.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs cmd (its Stdout and Stderr unset) and returns what it printed
// and its exit status. Failing to run it at all fails t.
func Run(t *testing.T, cmd *exec.Cmd) Result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s: %v", cmd, err)
		}
		code = ee.ExitCode()
	}
	return Result{out.String(), errb.String(), code}
}

// Proc is a running role.
type Proc struct {
	Cmd *exec.Cmd
	// Info holds the words the role printed after "ready".
	Info  []string
	stdin *os.File // nil for an heir, which shares its parent's
	done  chan struct{}
	err   error
}

// Stop ends the role: it closes the role's stdin (which also ends any heir
// sharing it) and waits, killing the role after 5s. An heir is killed.
func (p *Proc) Stop() {
	if p.stdin != nil {
		p.stdin.Close()
	} else {
		p.Cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

// Wait waits for the role to exit (by itself, by a signal, or by Stop)
// and returns how it ended, as exec.Cmd.Wait does.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Start runs role with argv[0] set to argv0 (what ps and netstat show),
// with extra as its fds 3, 4, ..., as uid (and gid) when uid >= 0 (0
// included: root with no supplementary groups) or as the test's own
// credentials when uid is -1, and waits until it called Ready. It is
// stopped when the Env ends.
func (e *Env) Start(t *testing.T, role, argv0 string, uid int, extra ...*os.File) *Proc {
	t.Helper()
	return e.StartCmd(t, role, argv0, uid, func(cmd *exec.Cmd) { cmd.ExtraFiles = extra })
}

// StartCmd is Start with a hook that adjusts the command before it runs:
// namespaces of its own in cmd.SysProcAttr.Cloneflags, ExtraFiles, Env.
func (e *Env) StartCmd(t *testing.T, role, argv0 string, uid int, adjust func(cmd *exec.Cmd)) *Proc {
	t.Helper()
	cmd := command(e.bin, e.Dir, role, argv0, uid)
	if adjust != nil {
		adjust(cmd)
	}
	p, err := start(cmd, role, false)
	if err != nil {
		t.Fatal(err)
	}
	e.cleanup(p.Stop)
	return p
}

// StartChild is Start for a role starting another role (no *testing.T).
// The child is killed if its parent dies.
func StartChild(role, argv0 string, extra ...*os.File) (*Proc, error) {
	cmd := command("/proc/self/exe", os.Getenv(envDir), role, argv0, -1)
	cmd.ExtraFiles = extra
	return start(cmd, role, false)
}

// StartHeir is StartChild for a child meant to outlive its parent, as a
// daemon's child does after fork-and-exit: it shares the parent's stdin,
// so it ends when the test stops the parent's role, not when the parent
// exits.
func StartHeir(role, argv0 string, extra ...*os.File) (*Proc, error) {
	cmd := command("/proc/self/exe", os.Getenv(envDir), role, argv0, -1)
	cmd.ExtraFiles = extra
	cmd.SysProcAttr.Pdeathsig = 0
	return start(cmd, role, true)
}

func command(bin, dir, role, argv0 string, uid int) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.Args = []string{argv0}
	cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	return cmd
}

func start(cmd *exec.Cmd, role string, heir bool) (*Proc, error) {
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	if heir {
		cmd.Stdin = os.Stdin
	} else {
		// Not StdinPipe: Wait would close it when the role exits, ending
		// any heir the role left behind.
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("starting role %s: %w", role, err)
		}
		defer r.Close()
		cmd.Stdin, p.stdin = r, w
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.closeStdin()
		return nil, fmt.Errorf("starting role %s: %w", role, err)
	}
	if err := cmd.Start(); err != nil {
		p.closeStdin()
		return nil, fmt.Errorf("starting role %s: %w", role, err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-ready:
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "ready" {
			p.Stop()
			return nil, fmt.Errorf("role %s did not get ready: %q", role, line)
		}
		p.Info = f[1:]
	case <-time.After(20 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("role %s did not get ready in 20s", role)
	}
	return p, nil
}

func (p *Proc) closeStdin() {
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// Ready tells the starter the role is set up, with info (say, pids of the
// children it started) for Proc.Info, then blocks until it is stopped.
func Ready(info ...string) {
	Announce(info...)
	io.Copy(io.Discard, os.Stdin)
}

// Announce is Ready for a role that does not wait to be stopped: one that
// exits by itself, leaving an heir behind.
func Announce(info ...string) {
	fmt.Println(strings.Join(append([]string{"ready"}, info...), " "))
}
