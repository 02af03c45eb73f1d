package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockstat -j NETNS is FreeBSD's -j for a vnet jail: attach to it and
// list as usual. Go cannot move a running process into another network
// namespace (setns is per thread and /proc/self/net follows the main
// thread), so bpfstat re-executes itself with this variable set and the
// child enters the namespace in init, on the main thread, before any
// other code runs.
const netnsEnv = "BPFSTAT_SOCKSTAT_NETNS"

func init() {
	path := os.Getenv(netnsEnv)
	if path == "" {
		return
	}
	// Keep main-goroutine code (netlink sockets included) on the main
	// thread, the one in the namespace.
	runtime.LockOSThread()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sockstat: entering network namespace %s: %v\n", path, err)
		os.Exit(3)
	}
}

// netnsPath maps -j's argument to a namespace file: a pid, an "ip netns"
// name or a path.
func netnsPath(arg string) string {
	if arg != "" && strings.Trim(arg, "0123456789") == "" {
		return "/proc/" + arg + "/ns/net"
	}
	if !strings.Contains(arg, "/") {
		return "/run/netns/" + arg
	}
	return arg
}

// sockstatInNetNS runs sockstat in the network namespace arg names,
// unless that is this process's own. done reports that the child ran
// (with exit status code).
func sockstatInNetNS(arg string) (done bool, code int, err error) {
	path := netnsPath(arg)
	var want, self syscall.Stat_t
	if err := syscall.Stat(path, &want); err != nil {
		return false, 0, fmt.Errorf("finding network namespace: %w", err)
	}
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		return false, 0, fmt.Errorf("finding own network namespace: %w", err)
	}
	if want.Dev == self.Dev && want.Ino == self.Ino {
		return false, 0, nil
	}
	if os.Getenv(netnsEnv) != "" {
		return false, 0, errors.New("not entered")
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = os.Args
	cmd.Env = append(os.Environ(), netnsEnv+"="+path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return true, ee.ExitCode(), nil
		}
		return false, 0, fmt.Errorf("running in network namespace: %w", err)
	}
	return true, 0, nil
}
