//go:build linux

package testns_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfstat/bpfstat/internal/testns"
	"golang.org/x/sys/unix"
)

var roles = map[string]testns.Role{
	"whoami": roleWhoami, "parent": roleParent, "heir": roleHeir,
}

func TestMain(m *testing.M) { testns.Main(m, roles) }

// roleWhoami reports its uid and network namespace.
func roleWhoami(string) error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return err
	}
	testns.Ready(strconv.Itoa(os.Getuid()), strconv.FormatUint(st.Ino, 10))
	return nil
}

// roleParent leaves an heir behind and exits.
func roleParent(string) error {
	h, err := testns.StartHeir("heir", "testns-heir")
	if err != nil {
		return err
	}
	testns.Announce(strconv.Itoa(h.Cmd.Process.Pid))
	return nil
}

// roleHeir notes in the directory that it ended by its stdin closing.
func roleHeir(dir string) error {
	testns.Ready()
	return os.WriteFile(filepath.Join(dir, "heir-done"), nil, 0o644)
}

func netnsIno(t *testing.T) string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(st.Ino, 10)
}

func TestStartInfo(t *testing.T) {
	testns.RequireRoot(t, "starts roles as other users")
	env := testns.NewEnv(t)
	for _, uid := range []int{-1, 0, 65534} {
		p := env.Start(t, "whoami", "testns-whoami", uid)
		want := strconv.Itoa(max(uid, 0))
		if len(p.Info) != 2 || p.Info[0] != want || p.Info[1] != netnsIno(t) {
			t.Errorf("uid %d: role reported %q, want [%s %s]", uid, p.Info, want, netnsIno(t))
		}
	}
	p := env.StartCmd(t, "whoami", "testns-whoami", -1, func(cmd *exec.Cmd) {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	})
	if len(p.Info) != 2 || p.Info[1] == netnsIno(t) {
		t.Errorf("role with CLONE_NEWNET reported %q: not in a namespace of its own", p.Info)
	}
	p.Stop()
	if err := p.Wait(); err != nil {
		t.Errorf("stopped role: %v", err)
	}
}

// TestHeir: an heir outlives its parent and ends when the parent's role
// is stopped, by itself (it writes heir-done on the way out).
func TestHeir(t *testing.T) {
	testns.RequireRoot(t, "runs roles in the test namespace")
	env := testns.NewEnv(t)
	p := env.Start(t, "parent", "testns-parent", -1)
	if err := p.Wait(); err != nil {
		t.Fatalf("parent: %v", err)
	}
	pid, err := strconv.Atoi(p.Info[0])
	if err != nil {
		t.Fatalf("parent reported %q", p.Info)
	}
	// A pidfd waits for the heir's exit though it is not our child.
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("heir %d gone with its parent: %v", pid, err)
	}
	defer unix.Close(pfd)
	p.Stop()
	for {
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}, -1)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if _, err := os.Stat(filepath.Join(env.Dir, "heir-done")); err != nil {
		t.Errorf("heir did not end by its stdin closing: %v", err)
	}
}

var setups int

func sharedEnv(t *testing.T) *testns.Env {
	return testns.Shared(t, func(t *testing.T, e *testns.Env) {
		setups++
		e.Start(t, "whoami", "testns-shared", -1)
	})
}

func TestShared1(t *testing.T) { testShared(t) }
func TestShared2(t *testing.T) { testShared(t) }

func testShared(t *testing.T) {
	testns.RequireRoot(t, "runs roles in the test namespace")
	e := sharedEnv(t)
	if e != sharedEnv(t) || setups != 1 {
		t.Errorf("shared environment set up %d times", setups)
	}
	if _, err := os.Stat(e.Binary()); err != nil {
		t.Error(err)
	}
}

func TestRun(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "read x; echo out $x; echo err >&2; exit 3")
	cmd.Stdin = strings.NewReader("in\n")
	want := testns.Result{Stdout: "out in\n", Stderr: "err\n", Code: 3}
	if got := testns.Run(t, cmd); got != want {
		t.Errorf("Run: %+v, want %+v", got, want)
	}
}
