//go:build linux

// Package testns runs end-to-end tests inside network (and mount)
// namespaces of their own, with helper processes ("roles") made from the
// test binary itself: nothing a test does can reach beyond lo, and every
// process it starts dies with it.
package testns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
// the tests.
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
	os.Exit(m.Run())
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

// Env is a test's shared directory: world-writable, holding a copy of the
// test binary every uid may run.
type Env struct {
	Dir string
	bin string
}

// NewEnv makes an Env removed when t ends.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	// Not t.TempDir: its parent is private, and roles may run as nobody.
	dir, err := os.MkdirTemp("", "bpfstat-testns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "roles.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Env{Dir: dir, bin: bin}
}

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

// Proc is a running role.
type Proc struct {
	Cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// Stop ends the role (closing its stdin, then killing it after 5s).
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

// Start runs role with argv[0] set to argv0 (what ps and netstat show), as
// uid when uid >= 0, and waits until it called Ready. It is stopped when t
// ends.
func (e *Env) Start(t *testing.T, role, argv0 string, uid int, extra ...*os.File) *Proc {
	t.Helper()
	p, err := start(e.bin, e.Dir, role, argv0, uid, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// StartChild is Start for a role starting another role (no *testing.T).
func StartChild(role, argv0 string, extra ...*os.File) (*Proc, error) {
	return start("/proc/self/exe", os.Getenv(envDir), role, argv0, -1, extra...)
}

func start(bin, dir, role, argv0 string, uid int, extra ...*os.File) (*Proc, error) {
	cmd := exec.Command(bin)
	cmd.Args = []string{argv0}
	cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting role %s: %w", role, err)
	}
	p := &Proc{Cmd: cmd, stdin: stdin, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			p.Stop()
			return nil, fmt.Errorf("role %s did not get ready: %q", role, line)
		}
	case <-time.After(20 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("role %s did not get ready in 20s", role)
	}
	return p, nil
}

// Ready tells the test the role is set up, then blocks until the test
// stops it.
func Ready() {
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}
