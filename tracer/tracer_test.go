package tracer

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"github.com/bpfstat/bpfstat/bpf"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// The event record is the Go<->C contract: its size must not change by
// accident (bpf/bpfstat.h pads it explicitly to a multiple of 8).
func TestEventSize(t *testing.T) {
	if got := unsafe.Sizeof(bpf.BpfstatEvent{}); got != 136 {
		t.Fatalf("sizeof(struct event) = %d, want 136", got)
	}
	if got := unsafe.Sizeof(bpf.BpfstatUnixEvent{}); got != 256 {
		t.Fatalf("sizeof(struct unix_event) = %d, want 256", got)
	}
	// Records are told apart by length.
	if got := unsafe.Sizeof(bpf.BpfstatStateEvent{}); got != 48 {
		t.Fatalf("sizeof(struct state_event) = %d, want 48", got)
	}
}

// TestDecodeState: a state_event decodes as the event record it stands for.
func TestDecodeState(t *testing.T) {
	ne := binary.NativeEndian
	full := make([]byte, eventSize)
	short := make([]byte, stateEventSize)
	for _, r := range []struct {
		b                                                    []byte
		ts, cookie, inode, netns, saddr, daddr, sport, dport uintptr
		kind, old, new, flags                                uintptr
	}{
		{full, offTs, offCookie, offInode, offNetns, offSaddr, offDaddr, offSport, offDport, offKind, offOld, offNew, offFlags},
		{short, offSTs, offSCookie, offSInode, offSNetns, offSSaddr, offSDaddr, offSSport, offSDport, offSKind, offSOld, offSNew, offSFlags},
	} {
		ne.PutUint64(r.b[r.ts:], 42)
		ne.PutUint64(r.b[r.cookie:], 7)
		ne.PutUint64(r.b[r.inode:], 12345)
		ne.PutUint32(r.b[r.netns:], 4026531833)
		copy(r.b[r.saddr:], []byte{127, 0, 0, 1})
		copy(r.b[r.daddr:], []byte{127, 0, 0, 2})
		ne.PutUint16(r.b[r.sport:], 8080)
		ne.PutUint16(r.b[r.dport:], 40000)
		r.b[r.kind] = byte(KindState)
		r.b[r.old] = byte(sock.StateEstablished)
		r.b[r.new] = byte(sock.StateFinWait1)
		r.b[r.flags] = byte(bpf.BpfstatEventFlagEVENT_F_MPTCP | bpf.BpfstatEventFlagEVENT_F_ORPHAN)
	}
	ne.PutUint16(full[offFamily:], 2)
	ne.PutUint16(full[offProtocol:], 6)
	full[offType] = 1
	ne.PutUint32(full[offFd:], uint32(0xffffffff))
	var a, b Event
	if err := decode(full, &a, cString); err != nil {
		t.Fatal(err)
	}
	if err := decode(short, &b, cString); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("state_event decodes as\n%+v\nwant\n%+v", b, a)
	}
	if !orphan(full) || !orphan(short) {
		t.Errorf("orphan flag lost: full %v, short %v", orphan(full), orphan(short))
	}
}

func TestDecode(t *testing.T) {
	b := make([]byte, eventSize)
	ne := binary.NativeEndian
	ne.PutUint64(b[offTs:], 42)
	ne.PutUint64(b[offCookie:], 7)
	ne.PutUint64(b[offInode:], 12345)
	ne.PutUint64(b[offLifetime:], 1500)
	ne.PutUint64(b[offSent:], 100)
	ne.PutUint64(b[offRecv:], 200)
	copy(b[offSaddr:], []byte{127, 0, 0, 1})
	copy(b[offDaddr:], []byte{127, 0, 0, 2})
	ne.PutUint32(b[offNetns:], 4026531833)
	ne.PutUint32(b[offPid:], 10)
	ne.PutUint32(b[offTid:], 11)
	ne.PutUint32(b[offUid:], 1000)
	ne.PutUint32(b[offFd:], uint32(0xffffffff))
	ne.PutUint16(b[offSport:], 8080)
	ne.PutUint16(b[offDport:], 40000)
	ne.PutUint16(b[offFamily:], 2)
	ne.PutUint16(b[offProtocol:], 262)
	b[offKind] = byte(KindClose)
	b[offOld] = byte(sock.StateLastAck)
	b[offNew] = byte(sock.StateClose)
	b[offType] = 1
	b[offFlags] = byte(bpf.BpfstatEventFlagEVENT_F_OWNER)
	copy(b[offComm:], "nginx")

	var ev Event
	if err := decode(b, &ev, cString); err != nil {
		t.Fatal(err)
	}
	want := Event{
		Kind: KindClose, Time: 42, Family: sock.FamilyInet, Proto: sock.ProtoTCP, Type: 1, MPTCP: true,
		Local:    netip.MustParseAddrPort("127.0.0.1:8080"),
		Remote:   netip.MustParseAddrPort("127.0.0.2:40000"),
		OldState: sock.StateLastAck, NewState: sock.StateClose,
		Cookie: 7, NetNS: 4026531833, Inode: 12345,
		PID: 10, TID: 11, Comm: "nginx", UID: 1000, FD: -1,
		Lifetime: 1500, BytesSent: 100, BytesReceived: 200,
	}
	if ev != want {
		t.Errorf("decode:\n got %+v\nwant %+v", ev, want)
	}

	// Without the owner flag, owner fields stay zero.
	b[offFlags] = 0
	ne.PutUint16(b[offFamily:], 1)
	decode(b, &ev, cString)
	if ev.PID != 0 || ev.Comm != "" || ev.Proto != sock.ProtoUnix || ev.Local.IsValid() {
		t.Errorf("unix record without owner decoded as %+v", ev)
	}
	if err := decode(b[:10], &ev, cString); err == nil {
		t.Error("short record decoded without error")
	}
}

func TestUnixPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"/run/x.sock\x00": "/run/x.sock",
		"/run/x.sock":     "/run/x.sock",
		"\x00abstract":    "@abstract",
		"\x00with\x00nul": "@with@nul",
	} {
		if got := unixPath([]byte(in)); got != want {
			t.Errorf("unixPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeUnixPath(t *testing.T) {
	b := make([]byte, unixEventSize)
	binary.NativeEndian.PutUint16(b[offFamily:], 1)
	binary.NativeEndian.PutUint16(b[offPathLen:], 5)
	copy(b[offPath:], "\x00demo")
	var ev Event
	if err := decode(b, &ev, cString); err != nil {
		t.Fatal(err)
	}
	if ev.Path != "@demo" || ev.Proto != sock.ProtoUnix {
		t.Errorf("decoded %q %v, want @demo unix", ev.Path, ev.Proto)
	}
}

func TestFindMount(t *testing.T) {
	mounts := `sysfs /sys sysfs rw,nosuid 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw 0 0
cgroup2 /sys/fs/cgroup/uni\040fied cgroup2 rw,relatime 0 0
`
	p, ok := findMount(strings.NewReader(mounts), "cgroup2")
	if !ok || p != "/sys/fs/cgroup/uni fied" {
		t.Errorf("findMount = %q, %v", p, ok)
	}
	if _, ok := findMount(strings.NewReader(mounts), "tracefs"); ok {
		t.Error("found a tracefs that is not there")
	}
}

func TestKindString(t *testing.T) {
	for k, s := range map[Kind]string{KindSocket: "socket", KindClose: "close", 0: "kind(0)", 99: "kind(99)"} {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), s)
		}
	}
}
