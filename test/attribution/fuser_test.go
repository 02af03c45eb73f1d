//go:build linux

package attribution

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/testns"
)

// runAs runs bin with argv[0] name, so both tools print the same
// program name in their messages.
func runAs(t *testing.T, bin, name, stdin string, args ...string) testns.Result {
	t.Helper()
	return runAsUID(t, 0, bin, name, stdin, args...)
}

func runAsUID(t *testing.T, uid int, bin, name, stdin string, args ...string) testns.Result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Args[0] = name
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	cmd.Stdin = strings.NewReader(stdin)
	return testns.Run(t, cmd)
}

// TestFuserMatchesPsmisc runs psmisc fuser and bpfstat's fuser on the
// same names and wants stdout, stderr and exit status byte-identical.
func TestFuserMatchesPsmisc(t *testing.T) {
	z := setup(t)
	ref := psmisc(t)
	u := filepath.Join(z.dir, "u.sock")
	nob := filepath.Join(z.dir, "nobody.sock")
	d := filepath.Join(z.dir, "d.sock")
	cases := [][]string{
		{"7001/tcp"},                   // pre-fork: the opener and three workers
		{"-v", "7001/tcp"},             // the USER PID ACCESS COMMAND table
		{"-u", "7001/tcp"},             // (user) after each pid
		{"-n", "tcp", "7002"},          // dual-stack listener via -n
		{"-4", "7002/tcp"},             // its v4-mapped connection is IPv6 to psmisc
		{"-6", "7002/tcp"},             // listener and mapped connection
		{"7004/tcp"},                   // V6ONLY listener
		{"7003/udp"},                   // udp, bound and connected peers
		{"-v", "7003/udp"},             //
		{",127.0.0.1,7001/tcp"},        // by remote address and port: the client
		{"7001,127.0.0.1/tcp"},         // local port and remote address
		{"7002,::1/tcp"},               // IPv6 remote
		{"7002,::ffff:127.0.0.1/tcp"},  // v4-mapped remote
		{",,7002/tcp"},                 // remote port only
		{",::1,7002/tcp"},              // the IPv6 client
		{"-v", "0,127.0.0.1,7001/tcp"}, // a name past column 20 in the -v table
		{",127.0.0.1,7003/udp"},        // a connected UDP client
		{"-u", "7001/tcp", "7001/tcp", ",127.0.0.1,7001/tcp"},
		{"7010/tcp"},       // SCM_RIGHTS: sender and receiver
		{"-v", "7010/tcp"}, //
		{"7020/tcp"},       // its opener exited: the child holds it
		{"7021/tcp"},       // died with the process that exited
		{"-v", "7030/tcp"}, // owned by nobody
		{"-u", "7030/tcp"}, //
		{"-a", "7099/tcp"}, // nothing there
		{"-av", "7001/tcp", "7099/udp", "7003/udp"},
		{"-s", "7001/tcp"},
		{"7099/tcp"},
		{"abc/tcp"},
		{"-n", "udp", "7003", "7001/tcp"},
		{"-4", "-6", "7001/tcp"},
		{"-m", "7001/tcp"},
		{"-Q", "7001/tcp"},
		{"-x", "7001/tcp"},
		{"--nope", "7001/tcp"},
		{},
		{"-l"},
		{"-v", "7040/tcp"}, // a command name that needs escapes
		{u},                // a unix socket path: listener and accepted socket
		{"-v", d},          // a datagram server
		{"-u", nob},
		{filepath.Join(z.dir, "missing.sock")},
		{"7001/tcp", "7010/tcp", "7030/tcp", u},
	}
	mustMatch := map[string]bool{
		"7001/tcp": true, "7010/tcp": true, "-v 7040/tcp": true, "7020/tcp": true, "-v 7030/tcp": true,
		"7004/tcp": true, "7003/udp": true, ",127.0.0.1,7001/tcp": true, ",::1,7002/tcp": true, u: true, "-v " + d: true,
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if want := z.compareFuser(t, ref, 0, args...); mustMatch[strings.Join(args, " ")] && want.Code != 0 {
				t.Errorf("psmisc found nothing for %q: the zoo is not what the test thinks", args)
			}
		})
	}
}

// psmisc returns the reference fuser, or skips t.
func psmisc(t *testing.T) string {
	t.Helper()
	ref, err := exec.LookPath("fuser")
	if err != nil {
		t.Skip("needs psmisc fuser as the reference (apt-get install psmisc)")
	}
	return ref
}

// compareFuser runs psmisc fuser (ref) and bpfstat's on args as uid and
// reports any difference in stdout, stderr or exit status. The machine's
// other processes come and go between the two runs ("Cannot stat file"
// lines), so it tries a few times. It returns psmisc's result.
func (z *zoo) compareFuser(t *testing.T, ref string, uid int, args ...string) testns.Result {
	t.Helper()
	var want, got testns.Result
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		want = runAsUID(t, uid, ref, "fuser", "", args...)
		got = runAsUID(t, uid, z.bin, "fuser", "", args...)
		if got == want {
			return want
		}
	}
	t.Errorf("fuser %q as uid %d:\npsmisc: code %d\nstdout %q\nstderr %q\nbpfstat: code %d\nstdout %q\nstderr %q",
		args, uid, want.Code, want.Stdout, want.Stderr, got.Code, got.Stdout, got.Stderr)
	return want
}

// TestFuserAsNobody: an unprivileged fuser sees only its own user's
// processes, silently.
func TestFuserAsNobody(t *testing.T) {
	z := setup(t)
	ref := psmisc(t)
	for _, args := range [][]string{
		{"7030/tcp"}, {"-v", "7030/tcp"}, {"7001/tcp"}, {"-a", "7001/tcp"},
		{"-v", filepath.Join(z.dir, "nobody.sock")},
	} {
		z.compareFuser(t, ref, 65534, args...)
	}
}

// TestFuserFile: a plain file (the zoo's executable) is matched through
// exe, fds and maps as psmisc does.
func TestFuserFile(t *testing.T) {
	z := setup(t)
	ref := psmisc(t)
	exe := z.env.Binary()
	for _, args := range [][]string{{exe}, {"-v", exe}, {"-u", exe}} {
		if want := z.compareFuser(t, ref, 0, args...); want.Code != 0 {
			t.Errorf("psmisc fuser %q found no zoo process: %+v", args, want)
		}
	}
}

// TestFuserFilesystem: files and mount points of a tmpfs, with -m, -M
// and psmisc's kernel entries.
func TestFuserFilesystem(t *testing.T) {
	z := setup(t)
	ref := psmisc(t)
	mnt := filepath.Join(z.dir, "mnt")
	for _, args := range [][]string{
		{filepath.Join(mnt, "file")}, {"-v", filepath.Join(mnt, "w")},
		{"-v", mnt}, {"-m", mnt}, {"-vm", mnt}, {"-vm", filepath.Join(mnt, "file")},
		{"-M", filepath.Join(mnt, "d")}, {"-vM", mnt}, {"-vmM", mnt + "/"},
		{"-v", filepath.Join(mnt, "d")}, {"-a", filepath.Join(mnt, "nothing")},
		{"-vmu", mnt, "7001/tcp"},
	} {
		z.compareFuser(t, ref, 0, args...)
	}
}

// TestFuserKill kills two identical victims, one with each tool, and
// compares the outputs with the pids normalised. Only processes this
// test started are signalled.
func TestFuserKill(t *testing.T) {
	z := setup(t)
	ref := psmisc(t)
	for _, c := range []struct {
		args  []string
		stdin string
		dies  bool
	}{
		{[]string{"-k", "-TERM", "7050/tcp"}, "", true},
		{[]string{"-k", "-v", "7050/tcp"}, "", true},
		{[]string{"-k", "-i", "7050/tcp"}, "n\n", false},
		{[]string{"-k", "-i", "-s", "7050/tcp"}, "maybe\ny\n", true},
		{[]string{"-k", "-w", "-HUP", "7050/tcp"}, "", true},
	} {
		var outs [2]testns.Result
		for i, bin := range []string{ref, z.bin} {
			v := z.env.Start(t, "victim", "zoo-victim", -1)
			r := runAs(t, bin, "fuser", c.stdin, c.args...)
			pid := strconv.Itoa(v.Cmd.Process.Pid)
			r.Stdout = strings.ReplaceAll(r.Stdout, pid, "PID")
			r.Stderr = strings.ReplaceAll(dropScanErrors(r.Stderr), pid, "PID")
			outs[i] = r
			// No timing: a signalled victim is waited for and must have
			// died of a signal; a spared one is stopped here and must
			// exit by itself (nothing signalled it).
			if !c.dies {
				v.Stop()
			}
			err := v.Wait()
			ee, _ := err.(*exec.ExitError)
			killed := ee != nil && ee.Sys().(syscall.WaitStatus).Signaled()
			if killed != c.dies {
				t.Errorf("%v with %s: victim ended with %v, want killed %v", c.args, bin, err, c.dies)
			}
		}
		if outs[0] != outs[1] {
			t.Errorf("fuser %q:\npsmisc %+v\nbpfstat %+v", c.args, outs[0], outs[1])
		}
	}
}

// dropScanErrors removes psmisc's "Cannot stat file" lines, which follow
// the machine's other processes and are compared by
// TestFuserMatchesPsmisc with retries.
func dropScanErrors(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "Cannot stat file ") {
			b.WriteString(l)
		}
	}
	return b.String()
}
