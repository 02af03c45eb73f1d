package bsd

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/ntop"
	"github.com/bpfstat/bpfstat/internal/sock"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// fakeNames stands in for /etc/services and /etc/hosts of the machine
// the seed page's examples came from.
type fakeNames struct{}

var services = map[string]string{
	"21/tcp": "ftp", "22/tcp": "ssh", "23/tcp": "telnet", "25/tcp": "smtp", "80/tcp": "http",
	"587/tcp": "submission", "5680/tcp": "canna", "123/udp": "ntp", "514/udp": "syslog",
	"53/udp": "domain", "53/tcp": "domain", "8080/tcp": "http-alt", "2049/udp": "nfsd",
}

var hosts = map[netip.Addr]string{
	netip.MustParseAddr("127.0.0.1"):     "X68000",
	netip.MustParseAddr("::1"):           "localhost",
	netip.MustParseAddr("192.168.1.20"):  "fileserver.home.example",
	netip.MustParseAddr("2001:db8::20"):  "fileserver.home.example",
	netip.MustParseAddr("203.0.113.200"): "a-very-long-host-name.example.net",
}

func (fakeNames) Service(port uint16, proto string) string {
	return services[strconv.Itoa(int(port))+"/"+proto]
}

func (fakeNames) Host(a netip.Addr) string { return hosts[a] }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func tcp4(l, r string, st int32, rq, sq uint64) sock.Socket {
	return sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap(l), Remote: ap(r), RecvQ: rq, SendQ: sq,
		BSD: &sock.BSD{VFlag: vIPv4, TCPState: st}}
}

func udp4(l string) sock.Socket {
	return sock.Socket{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap(l), Remote: ap("0.0.0.0:0"),
		BSD: &sock.BSD{VFlag: vIPv4}}
}

// seedInet is the socket table behind the seed's `netstat -f inet -a`.
func seedInet() []sock.Socket {
	return []sock.Socket{
		tcp4("192.168.1.12:80", "192.168.1.11:4164", 9, 0, 0),
		tcp4("192.168.1.12:80", "192.168.1.11:4163", 9, 0, 0),
		tcp4("192.168.1.12:22", "192.168.1.11:3899", 4, 0, 20),
		tcp4("0.0.0.0:23", "0.0.0.0:0", 1, 0, 0),
		tcp4("0.0.0.0:21", "0.0.0.0:0", 1, 0, 0),
		tcp4("0.0.0.0:5680", "0.0.0.0:0", 1, 0, 0),
		tcp4("0.0.0.0:80", "0.0.0.0:0", 1, 0, 0),
		tcp4("0.0.0.0:587", "0.0.0.0:0", 1, 0, 0),
		tcp4("0.0.0.0:25", "0.0.0.0:0", 1, 0, 0),
		tcp4("0.0.0.0:22", "0.0.0.0:0", 1, 0, 0),
		udp4("0.0.0.0:6000"),
		udp4("127.0.0.1:123"),
		udp4("192.168.1.12:123"),
		udp4("0.0.0.0:123"),
		udp4("0.0.0.0:514"),
	}
}

func unixSock(typ uint8, pcb, vnode, conn, ref, next uint64, path string) sock.Socket {
	return sock.Socket{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: typ, Path: path,
		BSD: &sock.BSD{PCB: pcb, Vnode: vnode, Conn: conn, FirstRef: ref, NextRef: next}}
}

// seedUnix is the table behind the seed's `netstat -f unix -a -n` (an
// i386 kernel: 32-bit addresses).
func seedUnix() []sock.Socket {
	return []sock.Socket{
		unixSock(2, 0xc2ed2c08, 0, 0xc2ed3000, 0, 0xc2ed2c94, ""),
		unixSock(1, 0xc2ed28c0, 0, 0xc2ed2a64, 0, 0, ""),
		unixSock(1, 0xc2ed2a64, 0, 0xc2ed28c0, 0, 0, ""),
		unixSock(1, 0xc2ed2348, 0xc3422104, 0, 0, 0, "/tmp/ssh-BbnNCH0M/agent.2932"),
		unixSock(1, 0xc2ed2460, 0xc316da28, 0, 0, 0, "/tmp/ssh-pGeomhlL/agent.600"),
		unixSock(1, 0xc2ed2b7c, 0xc2f60820, 0, 0, 0, "/tmp/.iroha_unix/IROHA"),
		unixSock(2, 0xc2ed2c94, 0, 0xc2ed3000, 0, 0xc2ed2d20, ""),
		unixSock(2, 0xc2ed2d20, 0, 0xc2ed3000, 0, 0xc2ed2ec4, ""),
		unixSock(2, 0xc2ed2ec4, 0, 0xc2ed3000, 0, 0, ""),
		unixSock(2, 0xc2ed3000, 0xc2ecd30c, 0, 0xc2ed2c08, 0, "/var/run/log"),
	}
}

// seedIf is the interface list behind the seed's `netstat -i` (KAME
// scope ids in the IPv6 names, names from /etc/networks and hosts).
func seedIf() []IfAddr {
	fxp := IfStats{IPackets: 72980, OPackets: 67575}
	return []IfAddr{
		{Name: "fxp0", Up: true, MTU: 1500, Index: 1, Family: AFLink, HW: []byte{0x00, 0xa0, 0xc9, 0xab, 0xfb, 0x8a}, Stats: fxp},
		{Name: "fxp0", Up: true, MTU: 1500, Family: AFInet, Addr: netip.MustParseAddr("192.168.1.12"), Bits: 24,
			Network: "192.168.1", Stats: IfStats{IPackets: 71968, OPackets: 67518}},
		{Name: "fxp0", Up: true, MTU: 1500, Family: AFInet6, Network: "fe80:1::2a0:c9ff:feab:fb8a", Address: "fe80:1::2a0:c9ff:feab:fb8a",
			Stats: IfStats{OPackets: 4}},
		// FreeBSD 4.x-6.x printed nothing for an empty link-level
		// address where 14 prints the interface name: a blank override.
		{Name: "plip0", Up: true, MTU: 1500, Index: 2, Family: AFLink, Address: " "},
		{Name: "lo0", Up: true, MTU: 16384, Index: 3, Family: AFLink, Address: " ", Stats: IfStats{IPackets: 76, OPackets: 76}},
		{Name: "lo0", Up: true, MTU: 16384, Family: AFInet, Addr: netip.MustParseAddr("127.0.0.1"), Bits: 8, Network: "your-net",
			Stats: IfStats{IPackets: 48, OPackets: 48}},
		{Name: "lo0", Up: true, MTU: 16384, Family: AFInet6, Addr: netip.MustParseAddr("::1"), Bits: 128, Network: "localhost", Address: "::1"},
		{Name: "lo0", Up: true, MTU: 16384, Family: AFInet6, Network: "fe80:3::1", Address: "fe80:3::1"},
	}
}

func trimLines(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

// TestSeed reproduces the seed page's three FreeBSD outputs. The page
// shows them with trailing blanks trimmed; the golden files keep the
// bytes netstat writes.
func TestSeed(t *testing.T) {
	cases := []struct {
		name string
		run  func(b *bytes.Buffer) error
	}{
		{"seed_inet", func(b *bytes.Buffer) error {
			return Sockets(b, seedInet(), Options{All: true, Family: AFInet, Legacy: true, Names: fakeNames{}})
		}},
		{"seed_unix", func(b *bytes.Buffer) error {
			return Sockets(b, seedUnix(), Options{All: true, NumericAddr: true, NumericPort: true, Family: AFUnix, PtrBits: 32})
		}},
		{"seed_if", func(b *bytes.Buffer) error {
			return Interfaces(b, seedIf(), IfOptions{Legacy: true, Names: fakeNames{}})
		}},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := c.run(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, c.name, b.Bytes())
		seed, err := os.ReadFile(filepath.Join("testdata", c.name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := trimLines(b.Bytes()); got != string(seed) {
			t.Errorf("%s does not match the seed page:\n--- got\n%s--- seed\n%s", c.name, got, seed)
		}
	}
}

// modern is a FreeBSD 14 amd64 socket table as the sysctl decoders
// produce it.
func modern() []sock.Socket {
	k := func(n uint64) uint64 { return 0xfffff80000000000 + n }
	return []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("192.168.1.12:22"), Remote: ap("192.168.1.20:52314"), SendQ: 36,
			BSD: &sock.BSD{VFlag: vIPv4, TCPState: 4}},
		// A client: ephemeral local port 2049 (INP_ANONPORT) to port 53.
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("192.168.1.12:2049"), Remote: ap("192.168.1.1:53"),
			BSD: &sock.BSD{VFlag: vIPv4, TCPState: 4, InpFlags: inpAnonport}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("192.168.1.12:22"), Remote: ap("203.0.113.200:22"),
			BSD: &sock.BSD{VFlag: vIPv4, TCPState: 3, TCPFlags: tfNeedSyn}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[2001:db8::12]:22"), Remote: ap("[2001:db8::20]:61000"), RecvQ: 1,
			BSD: &sock.BSD{VFlag: vIPv6, TCPState: 10}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[fe80::2a0:c9ff:feab:fb8a]:8080"), Remote: ap("[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:65535"),
			BSD: &sock.BSD{VFlag: vIPv6, TCPState: 42}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("0.0.0.0:22"), Remote: ap("0.0.0.0:0"),
			BSD: &sock.BSD{VFlag: vIPv4, TCPState: 1, QLen: 0, IncQLen: 0, QLimit: 128}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:22"), Remote: ap("[::]:0"),
			BSD: &sock.BSD{VFlag: vIPv6, TCPState: 1, QLen: 2, IncQLen: 1, QLimit: 128}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:8080"), Remote: ap("[::]:0"),
			BSD: &sock.BSD{VFlag: vIPv4 | vIPv6, TCPState: 1, QLimit: 4096}},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:25"), Remote: ap("0.0.0.0:0"),
			BSD: &sock.BSD{VFlag: vIPv4, TCPState: 1, QLimit: 10}},
		{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap("192.168.1.12:123"), Remote: ap("0.0.0.0:0"), BSD: &sock.BSD{VFlag: vIPv4}},
		{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap("0.0.0.0:514"), Remote: ap("0.0.0.0:0"), BSD: &sock.BSD{VFlag: vIPv4}},
		{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap("192.168.1.12:45555"), Remote: ap("192.168.1.1:53"), BSD: &sock.BSD{VFlag: vIPv4}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoUDP, Local: ap("[::1]:2049"), Remote: ap("[::]:0"), RecvQ: 512, BSD: &sock.BSD{VFlag: vIPv6}},
		{Family: sock.FamilyInet, Proto: sock.ProtoRaw, RawProto: 1, Local: ap("0.0.0.0:0"), Remote: ap("0.0.0.0:0"), BSD: &sock.BSD{VFlag: vIPv4}},
		{Family: sock.FamilyInet6, Proto: sock.ProtoRaw, RawProto: 58, Local: ap("[::]:0"), Remote: ap("[::]:0"), BSD: &sock.BSD{VFlag: vIPv6}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 1, Path: "/var/run/devd.pipe",
			BSD: &sock.BSD{PCB: k(0x1c2e500), Vnode: k(0x2a1b3c0), QLimit: 4}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 1,
			BSD: &sock.BSD{PCB: k(0x1c2e700), Conn: k(0x1c2e800)}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 2, Path: "/var/run/logpriv",
			BSD: &sock.BSD{PCB: k(0x1d00000), Vnode: k(0x2a1b000), FirstRef: k(0x1d00100)}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 2, RecvQ: 96,
			BSD: &sock.BSD{PCB: k(0x1d00100), Conn: k(0x1d00000)}},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 5, Path: "/tmp/seqpacket-with-a-long-name.sock",
			BSD: &sock.BSD{PCB: k(0x1e00000), Vnode: k(0x2a1c000), QLen: 1, QLimit: 5}},
	}
}

// linuxSockets are sockets from /proc (no BSD part).
func linuxSockets() []sock.Socket {
	return []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("0.0.0.0:22"), Remote: ap("0.0.0.0:0"), State: sock.StateListen, SendQ: 128},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:22"), Remote: ap("[::]:0"), State: sock.StateListen, RecvQ: 1, SendQ: 128},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:41234"), Remote: ap("127.0.0.1:22"), State: sock.StateEstablished},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::ffff:127.0.0.1]:22"), Remote: ap("[::ffff:127.0.0.1]:41234"), State: sock.StateEstablished, SendQ: 44},
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, Local: ap("127.0.0.1:22"), Remote: ap("127.0.0.1:41000"), State: sock.StateNewSynRecv},
		{Family: sock.FamilyInet, Proto: sock.ProtoUDP, Local: ap("127.0.0.53:53"), Remote: ap("0.0.0.0:0"), State: sock.StateClose},
		{Family: sock.FamilyInet6, Proto: sock.ProtoUDP, Local: ap("[::]:5353"), Remote: ap("[::]:0"), State: sock.StateClose},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 1, Inode: 31337, Path: "/run/systemd/private", UnixFlags: sock.UnixFlagAcceptCon, State: sock.UnixUnconnected},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 2, Inode: 4242, Path: "@/org/kernel/udev"},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, UnixType: 1, Inode: 99, PeerInode: 100, State: sock.UnixConnected},
		{Family: sock.FamilyInet6, Proto: sock.ProtoTCP, Local: ap("[::]:8080"), Remote: ap("[::]:0"), State: sock.StateListen, V6Only: true},
	}
}

func TestSockets(t *testing.T) {
	n := fakeNames{}
	cases := []struct {
		name  string
		socks []sock.Socket
		o     Options
	}{
		{"an", modern(), Options{All: true, NumericAddr: true, NumericPort: true}},
		{"default_names", modern(), Options{Names: n, LocalDomain: "home.example"}},
		{"a_names", modern(), Options{All: true, Names: n}},
		{"an_inet", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Family: AFInet}},
		{"an_inet6", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Family: AFInet6}},
		{"an_unix", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Family: AFUnix}},
		{"an_p_udp", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Proto: "udp"}},
		{"anW", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Wide: true}},
		{"aW_inet_names", modern(), Options{All: true, Wide: true, Family: AFInet, Names: n}},
		{"anL", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Listen: true}},
		{"anL_unix", modern(), Options{All: true, NumericAddr: true, NumericPort: true, Listen: true, Family: AFUnix}},
		{"linux_an", linuxSockets(), Options{All: true, NumericAddr: true, NumericPort: true}},
		{"linux_a_inet_names", linuxSockets(), Options{All: true, Family: AFInet, Names: n}},
		{"linux_anL", linuxSockets(), Options{All: true, NumericAddr: true, NumericPort: true, Listen: true}},
		{"linux_an_v6only", linuxSockets(), Options{All: true, NumericAddr: true, NumericPort: true, V6OnlyKnown: true}},
		{"empty", nil, Options{All: true}},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := Sockets(&b, c.socks, c.o); err != nil {
			t.Fatal(err)
		}
		golden(t, c.name, b.Bytes())
	}
}

func modernIf() []IfAddr {
	return []IfAddr{
		{Name: "em0", Up: true, MTU: 1500, Index: 1, Family: AFLink, HW: []byte{0x08, 0x00, 0x27, 0x5e, 0x1a, 0x02},
			Stats: IfStats{IPackets: 1048576, IErrors: 1, IDrops: 2, IBytes: 1234567890, OPackets: 524288, OBytes: 98765432, ODrops: 3}},
		{Name: "em0", Up: true, MTU: 1500, Family: AFInet, Addr: netip.MustParseAddr("192.168.1.12"), Bits: 24,
			Stats: IfStats{IPackets: 1000, IBytes: 2000, OPackets: 3000, OBytes: 4000}},
		{Name: "em0", Up: true, MTU: 1500, Family: AFInet6, Addr: netip.MustParseAddr("fe80::a00:27ff:fe5e:1a02%em0"), Bits: 64},
		{Name: "em0", Up: true, MTU: 1500, Family: AFInet6, Addr: netip.MustParseAddr("2001:db8:1234:5678:a00:27ff:fe5e:1a02"), Bits: 64,
			Stats: IfStats{IPackets: 5, OPackets: 6}},
		{Name: "lo0", Up: true, MTU: 16384, Index: 2, Family: AFLink, Stats: IfStats{IPackets: 76, OPackets: 76}},
		{Name: "lo0", Up: true, MTU: 16384, Family: AFInet6, Addr: netip.MustParseAddr("::1"), Bits: 128},
		{Name: "lo0", Up: true, MTU: 16384, Family: AFInet6, Addr: netip.MustParseAddr("fe80::1%lo0"), Bits: 64},
		{Name: "lo0", Up: true, MTU: 16384, Family: AFInet, Addr: netip.MustParseAddr("127.0.0.1"), Bits: 8, Stats: IfStats{IPackets: 48, OPackets: 48}},
		{Name: "bridge100", Up: false, MTU: 1500, Index: 3, Family: AFLink, HW: []byte{0x58, 0x9c, 0xfc, 0x10, 0xff, 0x01}},
	}
}

func TestInterfaces(t *testing.T) {
	cases := []struct {
		name string
		o    IfOptions
	}{
		{"i", IfOptions{Names: fakeNames{}}},
		{"in", IfOptions{NumericAddr: true}},
		{"inW", IfOptions{NumericAddr: true, Wide: true}},
		{"ibdn", IfOptions{NumericAddr: true, Bytes: true, Drops: true}},
		{"in_inet", IfOptions{NumericAddr: true, Family: AFInet}},
		{"in_link_W", IfOptions{NumericAddr: true, Family: AFLink, Wide: true}},
		{"In_em0", IfOptions{NumericAddr: true, Interface: "em0"}},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := Interfaces(&b, modernIf(), c.o); err != nil {
			t.Fatal(err)
		}
		golden(t, "if_"+c.name, b.Bytes())
	}
}

func TestInet6String(t *testing.T) {
	for in, want := range map[string]string{
		"::": "::", "::1": "::1", "::ffff:10.1.2.3": "::ffff:10.1.2.3", "::10.1.2.3": "::10.1.2.3",
		"2001:db8::1": "2001:db8::1", "2001:db8:0:1:0:0:0:1": "2001:db8:0:1::1", "1:0:0:1:0:0:0:0": "1:0:0:1::",
		"fe80::1%lo0": "fe80::1%lo0", "1:2:3:4:5:6:7:8": "1:2:3:4:5:6:7:8",
	} {
		if got := ntop.IPv6(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestLnaof(t *testing.T) {
	for in, want := range map[string]bool{
		"0.0.0.0": true, "10.0.0.0": true, "10.0.0.1": false, "172.16.0.0": true, "172.16.1.0": false,
		"192.168.1.0": true, "192.168.1.12": false, "224.0.0.0": true,
	} {
		if got := lnaofZero(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: got %v", in, got)
		}
	}
}

func TestUDPStats(t *testing.T) {
	s := UDPStat{IPackets: 1000, BadSum: 1, NoPort: 20, NoPortBcast: 1, FullSock: 3, OPackets: 900}
	for _, sflag := range []int{1, 2} {
		var b bytes.Buffer
		if err := UDPStats(&b, s, sflag); err != nil {
			t.Fatal(err)
		}
		golden(t, "udp_stats_s"+strconv.Itoa(sflag), b.Bytes())
	}
}

func TestIPICMPStats(t *testing.T) {
	ip := IPStat{Total: 5000, BadSum: 1, Fragments: 4, Reassembled: 2, Delivered: 4990, FastForward: 7, LocalOut: 4800, NoRoute: 1}
	ic := ICMPStat{Error: 12, BadLen: 1, Reflect: 3, BadAddr: 1, MaskKnown: true}
	ic.OutHist[0], ic.OutHist[3] = 3, 12
	ic.InHist[8], ic.InHist[39] = 3, 1
	for _, sflag := range []int{1, 2} {
		var b bytes.Buffer
		if err := IPStats(&b, ip, sflag); err != nil {
			t.Fatal(err)
		}
		golden(t, "ip_stats_s"+strconv.Itoa(sflag), b.Bytes())
		b.Reset()
		if err := ICMPStats(&b, ic, sflag); err != nil {
			t.Fatal(err)
		}
		golden(t, "icmp_stats_s"+strconv.Itoa(sflag), b.Bytes())
	}
}

func TestProtoColumn(t *testing.T) {
	socks := []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoRaw, RawProto: 255, Local: ap("0.0.0.0:0"), Remote: ap("0.0.0.0:0"), BSD: &sock.BSD{VFlag: vIPv4}},
		{Family: sock.FamilyInet, Proto: sock.ProtoRaw, RawProto: 2, Local: ap("0.0.0.0:0"), Remote: ap("0.0.0.0:0"), BSD: &sock.BSD{VFlag: vIPv4}},
	}
	var b bytes.Buffer
	if err := Sockets(&b, socks, Options{All: true, NumericAddr: true, NumericPort: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nip 4       0      0 *.*", "\nigm4       0      0 *.*"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

// tcpStatSample has every pluralization case: 0, 1 and many.
func tcpStatSample() (TCPStat, [TCPNStates]uint64) {
	s := TCPStat{
		SndTotal: 12345, SndPack: 8000, SndByte: 1048576, SndRexmitPack: 1, SndRexmitByte: 1, SndAcks: 3000, DelAck: 1200,
		SndProbe: 1, SndCtrl: 340,
		RcvTotal: 15000, RcvAckPack: 7000, RcvAckByte: 1048000, RcvDupAck: 12, RcvPack: 9000, RcvByte: 2097152,
		RcvDupPack: 1, RcvDupByte: 40, RcvPartDupPack: 2, RcvPartDupByte: 1, RcvOOPack: 5, RcvOOByte: 7300,
		RcvBadSum: 1, RcvShort: 2, RcvReassFull: 1,
		ConnAttempt: 120, Accepts: 80, BadSyn: 1, ListenDrop: 3, BadRST: 1, Connects: 190, UsedRTT: 1,
		Closed: 200, Drops: 9, CachedRTT: 40, ConnDrops: 10, RTTUpdated: 6000, SegsTimed: 6100, RexmtTimeo: 14,
		TimeoutDrop: 1, FinWait2Drops: 1, KeepTimeo: 2, KeepProbe: 2, PredAck: 4000, PredDat: 3500,
		SCAdded: 1, SCCompleted: 1, SCSendCookie: 1, HCAdded: 7, SACKRecoveryEpisode: 1, SACKRcvBlocks: 30,
		ECNShs: 1, PMTUDBlackholeFailed: 1, TunneledPkts: 1, DSACKCount: 3, DSACKBytes: 1, ProgDrops: 1,
		SACKLostRexmt: 2, ECNSndECT0: 1, ACENect: 4, TWResponds: 1, TWRecycles: 6,
		// Counters netstat's tcp_stats() does not print.
		MinMSSDrops: 99, PCBCacheMiss: 99, TLPResends: 99, TLPResendBytes: 99, RcvGhostAck: 99, RcvAckTooOld: 99,
	}
	var st [TCPNStates]uint64
	st[1], st[4], st[10] = 1, 5, 12
	return s, st
}

func TestTCPStats(t *testing.T) {
	s, st := tcpStatSample()
	for _, sflag := range []int{1, 2} {
		var b bytes.Buffer
		if err := TCPStats(&b, s, st, sflag); err != nil {
			t.Fatal(err)
		}
		golden(t, "tcp_stats_s"+strconv.Itoa(sflag), b.Bytes())
		if strings.Contains(b.String(), "99") {
			t.Errorf("sflag %d prints a counter FreeBSD's tcp_stats() does not:\n%s", sflag, b.String())
		}
	}
	var b bytes.Buffer
	if err := TCPStats(&b, TCPStat{}, [TCPNStates]uint64{}, 2); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "tcp:\nTCP connection count by state:\n" {
		t.Errorf("-ss of zeros: %q", got)
	}
}

func TestTCPStateIndex(t *testing.T) {
	for st, want := range map[sock.State]int{sock.StateListen: 1, sock.StateEstablished: 4, sock.StateNewSynRecv: 3, sock.StateTimeWait: 10} {
		if got, ok := TCPStateIndex(st); !ok || got != want {
			t.Errorf("%v: %d %v, want %d", st, got, ok, want)
		}
	}
}
