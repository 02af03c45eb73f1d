package snapshot

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestParseInet(t *testing.T) {
	in := tcpHeader +
		"   0: 0100007F:0016 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 52442 1 0000000000000000 100 0 0 10 0\n" +
		"   1: 0100007F:B250 0100007F:0050 01 0039B600:00000000 04:0000012C 00000003  1000        7 51315 1 0000000000000000 20 4 30 10 -1\n" +
		"garbage\n" +
		"   2: 0100007F:0016\n"
	socks, warns, err := ParseInet(strings.NewReader(in), sock.ProtoTCP)
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 2 {
		t.Fatalf("got %d sockets, want 2", len(socks))
	}
	if want := []string{"warning, got bogus tcp line.", "warning, got bogus tcp line."}; strings.Join(warns, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", warns, want)
	}
	l := socks[0]
	if l.Local != netip.MustParseAddrPort("127.0.0.1:22") || l.State != sock.StateListen || l.RecvQ != 1 || l.Inode != 52442 {
		t.Errorf("listener decoded as %+v", l)
	}
	c := socks[1]
	if c.Remote != netip.MustParseAddrPort("127.0.0.1:80") || c.SendQ != 0x39B600 || c.UID != 1000 ||
		c.Timer != (sock.Timer{Kind: 4, Ticks: 0x12C, Retrans: 3, Timeout: 7}) {
		t.Errorf("connection decoded as %+v", c)
	}
}

func TestParseInet6(t *testing.T) {
	in := tcpHeader +
		"   0: 00000000000000000000000001000000:0CEA 0000000000000000FFFF00000100007F:8DD2 08 00000000:00000001 00:00000000 00000000     0        0 0 1\n"
	socks, _, err := ParseInet(strings.NewReader(in), sock.ProtoTCP)
	if err != nil || len(socks) != 1 {
		t.Fatalf("got %v, %v", socks, err)
	}
	s := socks[0]
	if s.Family != sock.FamilyInet6 || s.Local != netip.MustParseAddrPort("[::1]:3306") ||
		s.Remote != netip.MustParseAddrPort("[::ffff:127.0.0.1]:36306") || s.State != sock.StateCloseWait {
		t.Errorf("decoded as %+v", s)
	}
}

func TestParseUnix(t *testing.T) {
	in := "Num       RefCount Protocol Flags    Type St Inode Path\n" +
		"0000000000000000: 00000002 00000000 00010000 0001 01 75415 /tmp/zoo/web.sock\n" +
		"0000000000000000: 00000002 00000000 00000000 0002 01 75447 /tmp/zoo/with space.sock\n" +
		"0000000000000000: 00000003 00000000 00000000 0001 03 75435\n" +
		"0000000000000000: 00000002 00000000 00010000 0001 01 75416 @zoo-web-abstract\n" +
		"bogus\n"
	socks, warns, err := ParseUnix(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 4 || len(warns) != 1 || warns[0] != "warning, got bogus unix line." {
		t.Fatalf("got %d sockets, warnings %q", len(socks), warns)
	}
	if s := socks[0]; s.UnixFlags != sock.UnixFlagAcceptCon || s.UnixType != sock.TypeStream || s.Path != "/tmp/zoo/web.sock" {
		t.Errorf("listener decoded as %+v", s)
	}
	if s := socks[1]; s.Path != "/tmp/zoo/with space.sock" || s.UnixType != sock.TypeDgram {
		t.Errorf("dgram decoded as %+v", s)
	}
	if s := socks[2]; s.Path != "" || s.State != sock.UnixConnected || s.RefCnt != 3 {
		t.Errorf("unnamed decoded as %+v", s)
	}
}

func TestProgramName(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/sbin/sshd\x00-D\x00":  "sshd",
		"nginx: worker process\x00": "nginx: worker process",
		"":                          "",
		"./relative/bin\x00":        "./relative/bin",
		"/usr/bin/a/b/\x00":         "",
		strings.Repeat("x", 600):    strings.Repeat("x", 511),
	} {
		if got := ProgramName([]byte(in)); got != want {
			t.Errorf("ProgramName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSocketInode(t *testing.T) {
	for in, want := range map[string]uint64{"socket:[123]": 123, "[0000]:77": 77, "pipe:[5]": 0, "socket:[]": 0, "socket:[12": 0} {
		got, ok := SocketInode(in)
		if got != want || ok != (want != 0) {
			t.Errorf("SocketInode(%q) = %d, %v", in, got, ok)
		}
	}
}

// TestSocketsFixture reads a captured tree (see test/e2e TestCaptureZoo).
func TestSocketsFixture(t *testing.T) {
	root := filepath.Join("..", "cmd", "bpfstat", "testdata", "zoo")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no fixture tree: %v", err)
	}
	res, err := Sockets(Options{Root: root, Owners: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sockets) < 30 || res.OwnersFound < 20 || len(res.Warnings) != 0 {
		t.Errorf("fixture gave %d sockets, %d owned, warnings %v", len(res.Sockets), res.OwnersFound, res.Warnings)
	}
	for _, s := range res.Sockets {
		if len(s.Owners) > 1 && s.Owners[0].PID > s.Owners[1].PID {
			t.Errorf("owners not in pid order: %+v", s.Owners)
		}
	}
}

func FuzzParseInet(f *testing.F) {
	f.Add(tcpHeader + "   0: 0100007F:0016 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 52442 1\n")
	f.Add(tcpHeader + "   0: 00000000000000000000000001000000:0CEA 0000000000000000FFFF00000100007F:8DD2 08 0:1 0:0 0 0 0 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range []sock.Proto{sock.ProtoTCP, sock.ProtoUDP, sock.ProtoRaw} {
			socks, _, err := ParseInet(strings.NewReader(in), p)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range socks {
				if !s.Local.Addr().IsValid() {
					t.Fatalf("invalid local address from %q", in)
				}
			}
		}
	})
}

func FuzzParseUnix(f *testing.F) {
	f.Add("Num RefCount Protocol Flags Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 75415 /tmp/a b\n")
	f.Add("Num\n0: 1 0 0 1 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		if _, _, err := ParseUnix(strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParseInet10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(tcpHeader)
	for i := 0; i < 10000; i++ {
		sb.WriteString("   1: 0100007F:B250 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 51315 1 0000000000000000 20 4 30 10 -1\n")
	}
	in := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := ParseInet(strings.NewReader(in), sock.ProtoTCP); err != nil {
			b.Fatal(err)
		}
	}
}
