//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// captureFlagSets are the command lines whose netstat output is stored
// with a captured zoo; -o is left out since timers move between the copy
// of /proc and netstat's own read.
var captureFlagSets = []string{
	"-a", "-an", "-tanp", "-tunlp", "-xap", "-aee", "-anee", "-aW", "-ap", "-l", "-lpn",
	"-A inet6 -an", "-4a", "-tunwxapeeW", "--numeric-ports -a", "--numeric-hosts -ae",
}

// TestCaptureZoo, with BPFSTAT_E2E_CAPTURE=DIR, copies the zoo's /proc and
// /etc files into DIR as a fixture tree (proc/net/*, proc/PID/{cmdline,
// comm,fd/N}, etc/*) and stores netstat's output for captureFlagSets in
// DIR/netstat/, so unit tests can replay the zoo without root.
func TestCaptureZoo(t *testing.T) {
	out := os.Getenv("BPFSTAT_E2E_CAPTURE")
	if out == "" {
		t.Skip("set BPFSTAT_E2E_CAPTURE=DIR to capture a fixture tree")
	}
	env := setupZoo(t, false)
	startZoo(t, env)
	dir := env.Dir
	mustT := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"proc/net", "etc", "netstat"} {
		mustT(os.MkdirAll(filepath.Join(out, sub), 0o755))
	}
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6", "unix"} {
		b, err := os.ReadFile("/proc/net/" + f)
		mustT(err)
		// Paths in the zoo's temporary directory vary per run.
		b = []byte(strings.ReplaceAll(string(b), dir, "/tmp/zoo"))
		mustT(os.WriteFile(filepath.Join(out, "proc/net", f), b, 0o644))
	}
	for _, f := range []string{"hosts", "services", "protocols", "passwd"} {
		b, err := os.ReadFile("/etc/" + f)
		mustT(err)
		mustT(os.WriteFile(filepath.Join(out, "etc", f), b, 0o644))
	}
	ents, err := os.ReadDir("/proc")
	mustT(err)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if !strings.HasPrefix(string(cmdline), "zoo") && !strings.HasPrefix(string(cmdline), "/usr/local/sbin/zoo") {
			continue
		}
		pdir := filepath.Join(out, "proc", strconv.Itoa(pid))
		mustT(os.MkdirAll(filepath.Join(pdir, "fd"), 0o755))
		mustT(os.WriteFile(filepath.Join(pdir, "cmdline"), cmdline, 0o644))
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		mustT(os.WriteFile(filepath.Join(pdir, "comm"), comm, 0o644))
		fds, _ := os.ReadDir("/proc/" + e.Name() + "/fd")
		for _, fd := range fds {
			link, err := os.Readlink("/proc/" + e.Name() + "/fd/" + fd.Name())
			if err != nil || !strings.HasPrefix(link, "socket:") {
				continue
			}
			mustT(os.Symlink(link, filepath.Join(pdir, "fd", fd.Name())))
		}
	}
	for _, fs := range captureFlagSets {
		r := runTool(t, "/usr/bin/netstat", -1, strings.Fields(fs)...)
		// bpfstat is checked against these with the same flags: keep
		// the exit status and stderr with the output.
		text := r.stdout + "--- stderr\n" + r.stderr + "--- exit " + strconv.Itoa(r.code) + "\n"
		text = strings.ReplaceAll(text, dir, "/tmp/zoo")
		mustT(os.WriteFile(filepath.Join(out, "netstat", goldenName(fs)), []byte(text), 0o644))
	}
}

// goldenName turns a flag set into a file name.
func goldenName(fs string) string {
	if fs == "" {
		return "default.txt"
	}
	return strings.ReplaceAll(fs, " ", "_") + ".txt"
}
