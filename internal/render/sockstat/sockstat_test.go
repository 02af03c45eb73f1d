package sockstat

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func own(pid, fd int32, comm string) sock.Owner {
	return sock.Owner{PID: pid, FD: fd, Comm: comm, Program: comm}
}

// zoo is a machine's worth of sockets in the shapes sockstat must draw:
// a pre-fork server (one listener, three holders), a dual-stack and a
// V6ONLY listener, a v4-mapped connection on an IPv6 socket, TIME_WAIT,
// an unheld socket, a socket passed over SCM_RIGHTS (two holders with
// different fds), a nobody-owned one, unix listeners, stream pairs,
// datagram refs and an unconnected seqpacket socket.
func zoo() []sock.Socket {
	return []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("0.0.0.0:80"), Remote: ap("0.0.0.0:0"), State: sock.StateListen, Inode: 1001,
			Owners: []sock.Owner{own(100, 6, "nginx"), own(101, 6, "nginx"), own(102, 6, "nginx")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:8080"), Remote: ap("[::]:0"), State: sock.StateListen, Inode: 1002,
			Owners: []sock.Owner{own(200, 3, "server-with-a-long-name")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:22"), Remote: ap("[::]:0"), State: sock.StateListen, V6Only: true, Inode: 1003,
			Owners: []sock.Owner{own(1, 4, "sshd")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::ffff:127.0.0.1]:8080"), Remote: ap("[::ffff:127.0.0.1]:40000"), State: sock.StateEstablished, Inode: 1004,
			Owners: []sock.Owner{own(200, 7, "server-with-a-long-name")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:40000"), Remote: ap("127.0.0.1:8080"), State: sock.StateEstablished, Inode: 1005,
			Owners: []sock.Owner{own(300, 1234, "client")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::1]:41000"), Remote: ap("[::1]:22"), State: sock.StateSynSent, Inode: 1006,
			Owners: []sock.Owner{own(123456, 5, "ssh")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:80"), Remote: ap("127.0.0.1:39000"), State: sock.StateTimeWait},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:80"), Remote: ap("127.0.0.1:39001"), State: sock.StateSynRecv},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("10.0.0.1:443"), Remote: ap("192.0.2.7:51000"), State: sock.StateCloseWait, Inode: 1007},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:9000"), Remote: ap("0.0.0.0:0"), State: sock.StateListen, Inode: 1008,
			Owners: []sock.Owner{own(400, 3, "sender"), own(401, 5, "receiver")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap("0.0.0.0:53"), Remote: ap("0.0.0.0:0"), State: sock.StateClose, UID: 65534, Inode: 1009,
			Owners: []sock.Owner{own(500, 3, "dnsd")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoUDP, Local: ap("[::]:5353"), Remote: ap("[::]:0"), State: sock.StateClose, UID: 4242, Inode: 1010,
			Owners: []sock.Owner{own(501, 8, "mdns")}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[2001:db8:1234:5678:9abc:def0:1234:5678]:65000"), Remote: ap("[2001:db8:1234:5678:9abc:def0:1234:5679]:443"),
			State: sock.StateEstablished, UID: 998, Inode: 1012, Owners: []sock.Owner{own(1000, 3, "curl")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoRaw, Local: ap("0.0.0.0:1"), Inode: 1011, Owners: []sock.Owner{own(600, 3, "ping")}},
		// Unix sockets.
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, UnixFlags: sock.UnixFlagAcceptCon, Path: "/run/app.sock", Inode: 2001,
			Owners: []sock.Owner{own(700, 3, "app")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, Path: "/run/app.sock", Inode: 2002, PeerInode: 2003,
			Owners: []sock.Owner{own(700, 9, "app")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, Inode: 2003, PeerInode: 2002,
			Owners: []sock.Owner{own(701, 4, "appctl")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, Inode: 2004, PeerInode: 2005,
			Owners: []sock.Owner{own(702, 3, "pair"), own(703, 3, "pair")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, Inode: 2005, PeerInode: 2004,
			Owners: []sock.Owner{own(702, 4, "pair")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Path: "/dev/log", Inode: 2010,
			Owners: []sock.Owner{own(800, 3, "syslogd")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Inode: 2011, PeerInode: 2010,
			Owners: []sock.Owner{own(801, 3, "logger")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Inode: 2012, PeerInode: 2010},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Inode: 2013, PeerInode: 2010,
			Owners: []sock.Owner{own(802, 5, "logger")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeSeqpacket, Inode: 2020,
			Owners: []sock.Owner{own(900, 3, "seq")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, Path: "@abstract", Inode: 2021},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeStream, Inode: 2022, PeerInode: 99999,
			Owners: []sock.Owner{own(901, 3, "orphan")}},
	}
}

func users(uid uint32) (string, bool) {
	switch uid {
	case 0:
		return "root", true
	case 998:
		return "systemd-network", true
	case 65534:
		return "nobody", true
	}
	return "", false
}

func TestGolden(t *testing.T) {
	cases := []struct{ name, args string }{
		{"default", ""},
		{"wide", "-w"},
		{"quiet-numeric", "-qn"},
		{"state", "-s"},
		{"state-wide", "-sw"},
		{"connected", "-c"},
		{"listening", "-l"},
		{"inet4", "-4"},
		{"inet6", "-6"},
		{"unix", "-u"},
		{"unix-listening", "-ul"},
		{"unix-connected", "-uc"},
		{"ports", "-p 22,80-443,9000"},
		{"ports-unix", "-u -p 80"},
		{"noloopback", "-L"},
		{"udp", "-P udp"},
		{"tcp-unix", "-P tcp -u"},
		{"id-encaps", "-iU"},
		{"stack-cc", "-SC -4"},
		{"all-columns", "-wsiUSC"},
		{"json", "--json -4"},
		{"json-unix", "--json -u"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, warns, err := ParseArgs(strings.Fields(c.args))
			if err != nil || len(warns) > 0 {
				t.Fatalf("ParseArgs(%q): %v %v", c.args, err, warns)
			}
			var b bytes.Buffer
			if err := Render(&b, zoo(), o, users); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("sockstat %s:\ngot:\n%s\nwant:\n%s", c.args, b.String(), want)
			}
		})
	}
}

// TestLayout pins FreeBSD 14 sockstat's column rules independently of the
// golden files: "USER " up to column 9, COMMAND cut to 10 bytes up to 20,
// "%5lu " PID up to 26, "%-3d " FD, PROTO from 30, addresses from 37 in
// 22-column slots.
func TestLayout(t *testing.T) {
	o, _, _ := ParseArgs(nil)
	var b bytes.Buffer
	if err := Render(&b, zoo(), o, users); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	want := []string{
		"USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS      ",
		"root     ssh        123456 5   tcp6  ::1:41000             ::1:22",
		"nobody   dnsd         500 3   udp4   *:53                  *:*",
		"4242     mdns         501 8   udp46  *:5353                *:*",
		"root     server-wit   200 3   tcp46  *:8080                *:*",
		"root     server-wit   200 7   tcp4   127.0.0.1:8080        127.0.0.1:40000",
		"root     client       300 1234 tcp4  127.0.0.1:40000       127.0.0.1:8080",
		"root     sshd           1 4   tcp6   *:22                  *:*",
		"systemd-network curl 1000 3   tcp6   2001:db8:1234:5678:9abc:def0:1234:5678:65000 2001:db8:1234:5678:9abc:def0:1234:5679:443",
		"root     logger       802 5   dgram  -> /dev/log",
		"root     syslogd      800 3   dgram  /dev/log <- [802 5],[801 3]",
		"root     pair         703 3   stream -> [702 4]",
		"root     pair         702 4   stream -> [703 3]",
		"root     appctl       701 4   stream -> /run/app.sock",
		"root     app          700 9   stream /run/app.sock -> [701 4]",
		"root     orphan       901 3   stream -> ??",
		"root     seq          900 3   seqpac (not connected)",
		"?        ?          ?     ?   tcp4   127.0.0.1:80          127.0.0.1:39000",
		"?        ?          ?     ?   tcp4   10.0.0.1:443          192.0.2.7:51000",
		"?        ?          ?     ?   dgram  -> /dev/log",
		"?        ?          ?     ?   stream @abstract",
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing line %q in:\n%s", w, b.String())
		}
	}
	// Holders come newest process first: the pre-fork workers 102, 101, 100.
	i102 := strings.Index(b.String(), "nginx        102")
	i100 := strings.Index(b.String(), "nginx        100")
	if i102 < 0 || i100 < 0 || i102 > i100 {
		t.Errorf("pre-fork holders not all listed newest first:\n%s", b.String())
	}
}

func TestJSONHolders(t *testing.T) {
	o, _, _ := ParseArgs([]string{"--json", "-4", "-p", "80"})
	var b bytes.Buffer
	if err := Render(&b, zoo(), o, users); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	var pids []int32
	for _, r := range rows {
		if r.Local == "*:80" && r.PID != nil {
			pids = append(pids, *r.PID)
		}
	}
	if len(pids) != 3 {
		t.Errorf("listener *:80 holders = %v, want the three workers", pids)
	}
}

// BenchmarkRender: 10,000 sockets with two holders each, as on a busy
// server.
func BenchmarkRender(b *testing.B) {
	var socks []sock.Socket
	for i := range 10000 {
		socks = append(socks, sock.Socket{
			Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished,
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 443),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), uint16(1024+i)),
			Inode:  uint64(i + 1),
			Owners: []sock.Owner{own(int32(100+i%50), int32(3+i), "nginx"), own(int32(200+i%50), int32(3+i), "nginx")},
		})
	}
	o, _, _ := ParseArgs(nil)
	b.ResetTimer()
	for range b.N {
		if err := Render(io.Discard, socks, o, users); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFreeBSDSource: sockets from FreeBSD's pcblists carry inp_vflag,
// t_state and the unpcb links in Socket.BSD; peers and refs follow them.
func TestFreeBSDSource(t *testing.T) {
	bsd := func(b sock.BSD) *sock.BSD { return &b }
	socks := []sock.Socket{
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:22"), Remote: ap("[::]:0"), Inode: 1,
			BSD: &sock.BSD{Socket: 0xa1, VFlag: vflag4 | vflag6, TCPState: 1}, Owners: []sock.Owner{own(10, 4, "sshd")}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("10.0.0.1:22"), Remote: ap("10.0.0.2:5000"), Inode: 2,
			BSD: &sock.BSD{Socket: 0xa2, VFlag: vflag4, TCPState: 4}, Owners: []sock.Owner{own(11, 5, "sshd")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Path: "/var/run/log", Inode: 3,
			BSD: bsd(sock.BSD{Socket: 0xb1, PCB: 0xc1, FirstRef: 0xc3}), Owners: []sock.Owner{own(20, 3, "syslogd")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Inode: 4,
			BSD: bsd(sock.BSD{Socket: 0xb2, PCB: 0xc2, Conn: 0xc1}), Owners: []sock.Owner{own(30, 3, "cron")}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: sock.TypeDgram, Inode: 5,
			BSD: bsd(sock.BSD{Socket: 0xb3, PCB: 0xc3, Conn: 0xc1, NextRef: 0xc2}), Owners: []sock.Owner{own(31, 7, "sshd")}},
	}
	o, _, _ := ParseArgs([]string{"-s"})
	var b bytes.Buffer
	if err := Render(&b, socks, o, users); err != nil {
		t.Fatal(err)
	}
	want := "USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS       PATH STATE   CONN STATE  \n" +
		"root     sshd          31 7   dgram  -> /var/run/log\n" +
		"root     cron          30 3   dgram  -> /var/run/log\n" +
		"root     syslogd       20 3   dgram  /var/run/log <- [31 7],[30 3]\n" +
		"root     sshd          11 5   tcp4   10.0.0.1:22           10.0.0.2:5000                      ESTABLISHED\n" +
		"root     sshd          10 4   tcp46  *:22                  *:*                                LISTEN\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
