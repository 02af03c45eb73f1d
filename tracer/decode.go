package tracer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/bpfstat/bpfstat/bpf"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// rawEvent is the kernel's record, generated from bpf/bpfstat.h.
type rawEvent = bpf.BpfstatEvent

// eventSize is the size of one ring buffer record; unix sockets' records
// are unixEventSize, the event followed by the socket's address; most TCP
// state changes are stateEventSize.
const (
	eventSize      = int(unsafe.Sizeof(rawEvent{}))
	unixEventSize  = int(unsafe.Sizeof(bpf.BpfstatUnixEvent{}))
	stateEventSize = int(unsafe.Sizeof(bpf.BpfstatStateEvent{}))
)

// state_event's fields.
var (
	offSTs     = unsafe.Offsetof(bpf.BpfstatStateEvent{}.TsNs)
	offSCookie = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Cookie)
	offSInode  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Inode)
	offSNetns  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Netns)
	offSSaddr  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Saddr)
	offSDaddr  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Daddr)
	offSSport  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Sport)
	offSDport  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Dport)
	offSKind   = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Kind)
	offSOld    = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Oldstate)
	offSNew    = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Newstate)
	offSFlags  = unsafe.Offsetof(bpf.BpfstatStateEvent{}.Flags)
)

// Field offsets come from the generated type, so the decoder cannot drift
// from the C header.
var (
	offTs       = unsafe.Offsetof(rawEvent{}.TsNs)
	offCookie   = unsafe.Offsetof(rawEvent{}.Cookie)
	offInode    = unsafe.Offsetof(rawEvent{}.Inode)
	offLifetime = unsafe.Offsetof(rawEvent{}.LifetimeNs)
	offSent     = unsafe.Offsetof(rawEvent{}.BytesSent)
	offRecv     = unsafe.Offsetof(rawEvent{}.BytesReceived)
	offSaddr    = unsafe.Offsetof(rawEvent{}.Saddr)
	offDaddr    = unsafe.Offsetof(rawEvent{}.Daddr)
	offNetns    = unsafe.Offsetof(rawEvent{}.Netns)
	offPid      = unsafe.Offsetof(rawEvent{}.Pid)
	offTid      = unsafe.Offsetof(rawEvent{}.Tid)
	offUid      = unsafe.Offsetof(rawEvent{}.Uid)
	offFd       = unsafe.Offsetof(rawEvent{}.Fd)
	offSport    = unsafe.Offsetof(rawEvent{}.Sport)
	offDport    = unsafe.Offsetof(rawEvent{}.Dport)
	offFamily   = unsafe.Offsetof(rawEvent{}.Family)
	offProtocol = unsafe.Offsetof(rawEvent{}.Protocol)
	offKind     = unsafe.Offsetof(rawEvent{}.Kind)
	offOld      = unsafe.Offsetof(rawEvent{}.Oldstate)
	offNew      = unsafe.Offsetof(rawEvent{}.Newstate)
	offType     = unsafe.Offsetof(rawEvent{}.Type)
	offFlags    = unsafe.Offsetof(rawEvent{}.Flags)
	offComm     = unsafe.Offsetof(rawEvent{}.Comm)
	offPathLen  = unsafe.Offsetof(bpf.BpfstatUnixEvent{}.PathLen)
	offPath     = unsafe.Offsetof(bpf.BpfstatUnixEvent{}.Path)
	pathCap     = len(bpf.BpfstatUnixEvent{}.Path)
)

const (
	ipprotoTCP     = 6
	ipprotoUDP     = 17
	ipprotoUDPLite = 136
	ipprotoMPTCP   = 262
	sockStream     = 1
	sockRaw        = 3
)

// decode turns one ring buffer record into an Event, in native byte
// order; comm makes the record's comm field a string (cString, or the
// tracer's interning).
func decode(b []byte, ev *Event, comm func([]byte) string) error {
	if len(b) == stateEventSize {
		decodeState(b, ev)
		return nil
	}
	if len(b) < eventSize {
		return fmt.Errorf("decoding event: record is %d bytes, want %d", len(b), eventSize)
	}
	ne := binary.NativeEndian
	u16 := func(off uintptr) uint16 { return ne.Uint16(b[off:]) }
	u32 := func(off uintptr) uint32 { return ne.Uint32(b[off:]) }
	u64 := func(off uintptr) uint64 { return ne.Uint64(b[off:]) }

	flags := b[offFlags]
	*ev = Event{
		Kind:          Kind(b[offKind]),
		Time:          u64(offTs),
		Family:        sock.Family(u16(offFamily)),
		Type:          b[offType],
		OldState:      sock.State(b[offOld]),
		NewState:      sock.State(b[offNew]),
		Cookie:        u64(offCookie),
		NetNS:         uint64(u32(offNetns)),
		Inode:         u64(offInode),
		FD:            int32(u32(offFd)),
		Lifetime:      time.Duration(u64(offLifetime)),
		BytesSent:     u64(offSent),
		BytesReceived: u64(offRecv),
		MPTCP:         flags&uint8(bpf.BpfstatEventFlagEVENT_F_MPTCP) != 0,
	}
	if flags&uint8(bpf.BpfstatEventFlagEVENT_F_OWNER) != 0 {
		ev.PID = int32(u32(offPid))
		ev.TID = int32(u32(offTid))
		ev.UID = u32(offUid)
		ev.Comm = comm(b[offComm : offComm+16])
	}
	proto := u16(offProtocol)
	switch {
	case ev.Family == sock.FamilyUnix:
		ev.Proto = sock.ProtoUnix
		if len(b) >= unixEventSize {
			n := min(int(u16(offPathLen)), pathCap)
			ev.Path = unixPath(b[offPath : offPath+uintptr(n)])
		}
	case ev.Type == sockRaw:
		ev.Proto, ev.RawProto = sock.ProtoRaw, proto
	case proto == ipprotoTCP || proto == ipprotoMPTCP:
		ev.Proto = sock.ProtoTCP
	case proto == ipprotoUDP:
		ev.Proto = sock.ProtoUDP
	case proto == ipprotoUDPLite:
		ev.Proto = sock.ProtoUDPLite
	}
	if proto == ipprotoMPTCP {
		ev.MPTCP = true
	}
	sport, dport := u16(offSport), u16(offDport)
	switch ev.Family {
	case sock.FamilyInet:
		ev.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[offSaddr:offSaddr+4])), sport)
		ev.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[offDaddr:offDaddr+4])), dport)
	case sock.FamilyInet6:
		ev.Local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[offSaddr:offSaddr+16])), sport)
		ev.Remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[offDaddr:offDaddr+16])), dport)
	}
	return nil
}

// decodeState decodes a state_event: an event of an IPv4 TCP socket
// without owner.
func decodeState(b []byte, ev *Event) {
	ne := binary.NativeEndian
	flags := b[offSFlags]
	*ev = Event{
		Kind:     Kind(b[offSKind]),
		Time:     ne.Uint64(b[offSTs:]),
		Family:   sock.FamilyInet,
		Proto:    sock.ProtoTCP,
		Type:     sockStream,
		OldState: sock.State(b[offSOld]),
		NewState: sock.State(b[offSNew]),
		Cookie:   ne.Uint64(b[offSCookie:]),
		NetNS:    uint64(ne.Uint32(b[offSNetns:])),
		Inode:    ne.Uint64(b[offSInode:]),
		FD:       -1,
		MPTCP:    flags&uint8(bpf.BpfstatEventFlagEVENT_F_MPTCP) != 0,
		Local:    netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[offSSaddr:offSSaddr+4])), ne.Uint16(b[offSSport:])),
		Remote:   netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[offSDaddr:offSDaddr+4])), ne.Uint16(b[offSDport:])),
	}
}

// orphan says a record's socket had no descriptor left (EVENT_F_ORPHAN).
func orphan(b []byte) bool {
	off := offFlags
	if len(b) == stateEventSize {
		off = offSFlags
	}
	return len(b) > int(off) && b[off]&uint8(bpf.BpfstatEventFlagEVENT_F_ORPHAN) != 0
}

// unixPath renders sun_path as /proc/net/unix does: a pathname up to its
// terminating NUL; an abstract name (leading NUL) as '@' and its bytes,
// NULs shown as '@'.
func unixPath(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if p[0] != 0 {
		return cString(p)
	}
	b := []byte(string(p))
	for i, c := range b {
		if c == 0 {
			b[i] = '@'
		}
	}
	return string(b)
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
