package fuser

import (
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func owner(pid, fd int32, uid uint32, comm string) sock.Owner {
	return sock.Owner{PID: pid, FD: fd, UID: uid, Comm: comm}
}

// table: a pre-fork listener on 8080 (three holders), a dual-stack
// listener on 8081 with a v4-mapped connection, a V6ONLY listener on
// ::1:8082 with a connection, a UDP socket held by nobody, a TIME_WAIT
// entry on 7000 and a unix socket.
func table() []sock.Socket {
	return []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:8080"), Remote: ap("0.0.0.0:0"), Inode: 11,
			Owners: []sock.Owner{owner(3, 3, 0, "python3"), owner(45, 3, 0, "python3"), owner(46, 3, 0, "python3")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:58474"), Remote: ap("127.0.0.1:8080"), Inode: 12,
			Owners: []sock.Owner{owner(3, 7, 0, "python3"), owner(3, 9, 0, "python3")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:8081"), Remote: ap("[::]:0"), Inode: 13,
			Owners: []sock.Owner{owner(50, 4, 0, "srv")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::ffff:127.0.0.1]:8081"), Remote: ap("[::ffff:127.0.0.1]:43586"), Inode: 14,
			Owners: []sock.Owner{owner(51, 5, 0, "srv")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::1]:44076"), Remote: ap("[::1]:8082"), Inode: 15,
			Owners: []sock.Owner{owner(60, 6, 1000, "cli\x01ent")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap("0.0.0.0:5353"), Remote: ap("0.0.0.0:0"), Inode: 16,
			Owners: []sock.Owner{owner(70, 3, 65534, "mdns")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:7000"), Remote: ap("127.0.0.1:39000")},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, Path: "/run/x.sock", Inode: 17,
			Owners: []sock.Owner{owner(80, 3, 0, "unixd")}},
	}
}

type run struct {
	stdout, stderr string
	code           int
	killed         []int32
}

func runFuser(t *testing.T, args string, stdin string) run {
	t.Helper()
	svc := filepath.Join(t.TempDir(), "services")
	os.WriteFile(svc, []byte("http\t\t80/tcp\t\twww\t# WWW\nmdns 5353/udp\n"), 0o644)
	var out, errb bytes.Buffer
	var r run
	env := &Env{
		Argv0: "fuser", Version: "test",
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin),
		Self:       46, // pid 46 is "us": never listed
		Resolver:   &SystemResolver{ServicesPath: svc},
		Sockets:    func([]sock.Proto) ([]sock.Socket, error) { return table(), nil },
		ScanErrors: func() []string { return []string{"Cannot stat file /proc/1/fd/0: Permission denied\n"} },
		Stat: func(name string) (string, FileID, error) {
			switch name {
			case "/run/x.sock":
				return name, FileID{Dev: 1, Ino: 2, Socket: true}, nil
			case "/mnt", "/mnt/":
				return "/mnt", FileID{Dev: 5, Ino: 1}, nil
			case "/mnt/d":
				return name, FileID{Dev: 5, Ino: 7}, nil
			}
			return name, FileID{}, &fs.PathError{Op: "stat", Path: name, Err: syscall.ENOENT}
		},
		StatSocketPath: func(p string) (FileID, bool) { return FileID{Dev: 1, Ino: 2, Socket: true}, p == "/run/x.sock" },
		FileProcs: func(q FileQuery) ([]Proc, error) {
			if q.Path != "/mnt" {
				return nil, nil
			}
			ps := []Proc{{Special: "mount", Command: "/mnt"}, {PID: 90, Command: "sh", Access: AccessCwd}}
			if q.Mount {
				ps = append(ps, Proc{PID: 91, Command: "cat", Access: AccessFile})
			}
			return ps, nil
		},
		MountPoints: func() []string { return []string{"/", "/mnt"} },
		UserName: func(uid uint32) (string, bool) {
			switch uid {
			case 0:
				return "root", true
			case 65534:
				return "nobody", true
			}
			return "", false
		},
		Kill: func(pid int32, sig int) error {
			if pid == 50 {
				return syscall.EPERM
			}
			r.killed = append(r.killed, pid)
			return nil
		},
	}
	r.code = Run(env, strings.Fields(args))
	r.stdout, r.stderr = out.String(), errb.String()
	return r
}

const scanErr = "Cannot stat file /proc/1/fd/0: Permission denied\n"

func TestRun(t *testing.T) {
	usage := usageText
	cases := []struct {
		args           string
		stdout, stderr string
		code           int
	}{
		{"8080/tcp", "     3    45", scanErr + "8080/tcp:           \n", 0},
		{"-n tcp 8080", "     3    45", scanErr + "8080/tcp:           \n", 0},
		{"-v 8080/tcp", "     3    45", scanErr +
			"                     USER        PID ACCESS COMMAND\n" +
			"8080/tcp:            root      F.... python3\n" +
			"                     root      F.... python3\n", 0},
		{"-u 8080/tcp", "     3    45", scanErr + "8080/tcp:           (root)(root)\n", 0},
		{"-u 8082,::1/tcp", "", "", 1},
		{",::1,8082/tcp", "    60", scanErr + ",::1,8082/tcp:      \n", 0},
		{"-uv ,::1,8082/tcp", "    60", scanErr +
			"                     USER        PID ACCESS COMMAND\n" +
			",::1,8082/tcp:       (unknown)  F....  (unknown) cli\\001ent\n", 0},
		{"5353/udp", "    70", scanErr + "5353/udp:           \n", 0},
		{"mdns/udp", "    70", scanErr + "mdns/udp:           \n", 0},
		{"9999/tcp", "", "", 1},
		{"-a 9999/tcp", "", "9999/tcp:\n", 1},
		{"-av 9999/tcp 5353/udp", "    70", scanErr +
			"                     USER        PID ACCESS COMMAND\n" +
			"9999/tcp:\n" +
			"5353/udp:            nobody    F.... mdns\n", 0},
		{"abc/tcp", "", "Cannot resolve local port abc: Servname not supported for ai_socktype\n", 1},
		{"http/tcp", "", "", 1},
		{"-4 8081/tcp", "", "", 1},
		{"-6 8081/tcp", "    50    51", scanErr + "8081/tcp:           \n", 0},
		{"8081,::ffff:127.0.0.1/tcp", "    51", scanErr + "8081,::ffff:127.0.0.1/tcp:\n", 0},
		{"8081,127.0.0.1/tcp", "", "", 1},
		{",,8080/tcp", "     3", scanErr + ",,8080/tcp:         \n", 0},
		{"7000/tcp", "", scanErr, 1},
		{"-s 8080/tcp", "", scanErr, 0},
		{"-sa 8080/tcp", "", "all option cannot be used with silent option.\n" + usage, 1},
		{"-4 -6 80/tcp", "", "You cannot search for only IPv4 and only IPv6 sockets at the same time\n" + usage, 1},
		{"-m 80/tcp", "", "You can only use files with mountpoint options\n" + usage, 1},
		{"-X 80/tcp", "", "X: unknown signal; fuser -l lists signals.\n", 1},
		{"-SIGFOO 80/tcp", "", "FOO: unknown signal; fuser -l lists signals.\n", 1},
		{"--foo 80/tcp", "", "fuser: Invalid option --foo\n" + usage, 1},
		{"-x 80/tcp", "", "fuser: Invalid option x\n" + usage, 1},
		{"", "", "No process specification given\n" + usage, 1},
		{"-n", "", "Namespace option requires an argument.\n" + usage, 1},
		{"-n sctp 80", "", "Invalid namespace name\n" + usage, 1},
		{"80/sctp", "", "Specified filename 80/sctp does not exist.\n", 1},
		{"/run/x.sock", "    80", scanErr + "/run/x.sock:        \n", 0},
		{"-- 8080/tcp", "", "No process specification given\n" + usage, 1},
		{"-l", "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT\nCHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH POLL PWR SYS\n", "", 0},
		{"99999/tcp", "", "", 1},
		{"/mnt", "    90", scanErr + "/mnt:               c\n", 0},
		{"-v /mnt", "kernel    90", scanErr +
			"                     USER        PID ACCESS COMMAND\n" +
			"/mnt:                root      mount /mnt\n" +
			"                     root      ..c.. sh\n", 0},
		{"-m /mnt", "    90    91", scanErr + "/mnt:               c\n", 0},
		{"-M /mnt/d", "", "Specified filename /mnt/d is not a mountpoint.\n" + scanErr, 1},
		{"-M -a /mnt/ /mnt/d", "    90", "Specified filename /mnt/d is not a mountpoint.\n" + scanErr + "/mnt:               c\n", 0},
		{"4294975376/tcp", "     3    45", scanErr + "4294975376/tcp:     \n", 0},
	}
	for _, c := range cases {
		r := runFuser(t, c.args, "")
		if r.stdout != c.stdout || r.stderr != c.stderr || r.code != c.code {
			t.Errorf("fuser %s:\n got stdout %q\n     stderr %q\n     code %d\nwant stdout %q\n     stderr %q\n     code %d",
				c.args, r.stdout, r.stderr, r.code, c.stdout, c.stderr, c.code)
		}
	}
}

func TestKill(t *testing.T) {
	r := runFuser(t, "-k -TERM 8080/tcp 8081/tcp", "")
	if r.code != 0 || len(r.killed) != 3 || r.killed[0] != 3 || r.killed[1] != 45 || r.killed[2] != 51 {
		t.Errorf("killed %v, code %d", r.killed, r.code)
	}
	if !strings.Contains(r.stderr, "Could not kill process 50: Operation not permitted\n") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runFuser(t, "-ki 8080/tcp", "maybe\ny\n\n")
	want := "Kill process 3 ? (y/N) Kill process 3 ? (y/N) Kill process 45 ? (y/N) "
	if !strings.HasSuffix(r.stderr, want) || len(r.killed) != 1 || r.killed[0] != 3 {
		t.Errorf("interactive: killed %v stderr %q", r.killed, r.stderr)
	}
	r = runFuser(t, "-k 9999/tcp", "")
	if r.code != 1 || len(r.killed) != 0 {
		t.Errorf("nothing to kill: code %d killed %v", r.code, r.killed)
	}
}

func TestNumericService(t *testing.T) {
	cases := []struct {
		in      string
		port    uint16
		numeric bool
	}{
		{"80", 80, true}, {" 80", 80, true}, {"+80", 80, true}, {"99999", 34463, true},
		{"4294967376", 80, true}, {"-1", 0, false}, {"2147483648", 0, false},
		{"123456789012345678901", 0, false}, {"80x", 0, false}, {"", 0, false}, {"http", 0, false},
	}
	for _, c := range cases {
		p, ok := NumericService(c.in)
		if p != c.port || ok != c.numeric {
			t.Errorf("NumericService(%q) = %d, %v; want %d, %v", c.in, p, ok, c.port, c.numeric)
		}
	}
}

func TestEscapeComm(t *testing.T) {
	for in, want := range map[string]string{
		"python3": "python3", "a)b": "a", "tab\there": "tab\\011here", "\xff": "\\37777777777",
		// 15 bytes of UTF-8: the last escape would start past column 60.
		"h\xc3\xa9llo w\xc3\xb6rld\xc3\xa9": `h\37777777703\37777777651llo w\37777777703\37777777666rld\37777777703`,
	} {
		if got := escapeComm(in); got != want {
			t.Errorf("escapeComm(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrText(t *testing.T) {
	if got := errText(&fs.PathError{Err: syscall.EACCES}); got != "Permission denied" {
		t.Errorf("got %q", got)
	}
	if got := errText(errors.New("x")); got != "X" {
		t.Errorf("got %q", got)
	}
}
