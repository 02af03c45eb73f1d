package daemonproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// The socket frame is a sequence of records, one per socket, with no
// padding. Integers are unsigned LEB128 varints (signed ones zigzag), so
// zero queues and timers cost one byte each; strings are a varint length
// and the bytes. A record is:
//
//	family u8, proto u8, state u8,
//	local addr, local port varint, remote addr, remote port varint
//	    (addr: u8 length 0, 4 or 16, then the bytes),
//	recvq, sendq, uid, inode varint,
//	timer kind u8, ticks, retrans varint, timeout zigzag,
//	rawproto varint, unix type u8, unix flags, refcnt varint,
//	path string, noinode u8, cookie, netns varint,
//	owner count varint, per owner: pid zigzag, comm string,
//	    program string, uid varint, fd zigzag.

// errShort is returned for a record cut off mid-field.
var errShort = errors.New("truncated record")

// maxOwners bounds one socket's owner list, against a hostile length.
const maxOwners = 1 << 16

// AppendSockets encodes socks onto b.
func AppendSockets(b []byte, socks []sock.Socket) []byte {
	for i := range socks {
		b = appendSocket(b, &socks[i])
	}
	return b
}

func appendAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	switch {
	case !a.IsValid():
		b = append(b, 0)
	case a.Is4():
		v := a.As4()
		b = append(b, 4)
		b = append(b, v[:]...)
	default:
		v := a.As16()
		b = append(b, 16)
		b = append(b, v[:]...)
	}
	return binary.AppendUvarint(b, uint64(ap.Port()))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendSocket(b []byte, s *sock.Socket) []byte {
	b = append(b, byte(s.Family), byte(s.Proto), byte(s.State))
	b = appendAddr(b, s.Local)
	b = appendAddr(b, s.Remote)
	b = binary.AppendUvarint(b, s.RecvQ)
	b = binary.AppendUvarint(b, s.SendQ)
	b = binary.AppendUvarint(b, uint64(s.UID))
	b = binary.AppendUvarint(b, s.Inode)
	b = append(b, s.Timer.Kind)
	b = binary.AppendUvarint(b, s.Timer.Ticks)
	b = binary.AppendUvarint(b, s.Timer.Retrans)
	b = binary.AppendVarint(b, s.Timer.Timeout)
	b = binary.AppendUvarint(b, uint64(s.RawProto))
	b = append(b, s.UnixType)
	b = binary.AppendUvarint(b, uint64(s.UnixFlags))
	b = binary.AppendUvarint(b, s.RefCnt)
	b = appendString(b, s.Path)
	noInode := byte(0)
	if s.NoInode {
		noInode = 1
	}
	b = append(b, noInode)
	b = binary.AppendUvarint(b, s.Cookie)
	b = binary.AppendUvarint(b, s.NetNS)
	b = binary.AppendUvarint(b, uint64(len(s.Owners)))
	for _, o := range s.Owners {
		b = binary.AppendVarint(b, int64(o.PID))
		b = appendString(b, o.Comm)
		b = appendString(b, o.Program)
		b = binary.AppendUvarint(b, uint64(o.UID))
		b = binary.AppendVarint(b, int64(o.FD))
	}
	return b
}

// decoder walks a socket frame; the first error sticks.
type decoder struct {
	b   []byte
	err error
	// strs interns owner names: a process owning 10k sockets sends its
	// name 10k times, and one copy is enough.
	strs map[string]string
}

func (d *decoder) u8() uint8 {
	if d.err != nil || len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	if v > max {
		d.err = fmt.Errorf("value %d out of range (max %d)", v, max)
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(min, max int64) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	if v < min || v > max {
		d.err = fmt.Errorf("value %d out of range [%d, %d]", v, min, max)
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(intern bool) string {
	n := d.uvarint(1 << 20)
	b := d.bytes(n)
	if !intern || d.err != nil {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *decoder) addrPort() netip.AddrPort {
	var a netip.Addr
	switch l := d.u8(); l {
	case 0:
	case 4:
		if b := d.bytes(4); b != nil {
			a = netip.AddrFrom4([4]byte(b))
		}
	case 16:
		if b := d.bytes(16); b != nil {
			a = netip.AddrFrom16([16]byte(b))
		}
	default:
		if d.err == nil {
			d.err = fmt.Errorf("address length %d", l)
			d.b = nil
		}
		return netip.AddrPort{}
	}
	p := d.uvarint(65535)
	if d.err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, uint16(p))
}

// DecodeSockets decodes a socket frame holding exactly count records. A
// malformed frame yields an error, never a panic.
func DecodeSockets(b []byte, count int) ([]sock.Socket, error) {
	if count < 0 || count > len(b) { // every record is > 1 byte
		return nil, fmt.Errorf("decoding sockets: count %d does not fit %d bytes", count, len(b))
	}
	d := decoder{b: b, strs: make(map[string]string)}
	out := make([]sock.Socket, 0, count)
	// Owners of all sockets share one backing array, grown in chunks:
	// 100k sockets are 100k owner lists, and one allocation each shows.
	var ownerPool []sock.Owner
	for i := 0; i < count && d.err == nil; i++ {
		var s sock.Socket
		s.Family = sock.Family(d.u8())
		s.Proto = sock.Proto(d.u8())
		s.State = sock.State(d.u8())
		s.Local = d.addrPort()
		s.Remote = d.addrPort()
		s.RecvQ = d.uvarint(^uint64(0))
		s.SendQ = d.uvarint(^uint64(0))
		s.UID = uint32(d.uvarint(1<<32 - 1))
		s.Inode = d.uvarint(^uint64(0))
		s.Timer.Kind = d.u8()
		s.Timer.Ticks = d.uvarint(^uint64(0))
		s.Timer.Retrans = d.uvarint(^uint64(0))
		s.Timer.Timeout = d.varint(-1<<63, 1<<63-1)
		s.RawProto = uint16(d.uvarint(65535))
		s.UnixType = d.u8()
		s.UnixFlags = uint32(d.uvarint(1<<32 - 1))
		s.RefCnt = d.uvarint(^uint64(0))
		s.Path = d.str(false)
		s.NoInode = d.u8() != 0
		s.Cookie = d.uvarint(^uint64(0))
		s.NetNS = d.uvarint(^uint64(0))
		n := d.uvarint(maxOwners)
		if n > uint64(len(d.b)) {
			d.fail()
		}
		if d.err == nil && n > 0 {
			if uint64(cap(ownerPool)-len(ownerPool)) < n {
				ownerPool = make([]sock.Owner, 0, max(n, 4096))
			}
			ownerPool = ownerPool[:len(ownerPool)+int(n)]
			s.Owners = ownerPool[len(ownerPool)-int(n) : len(ownerPool) : len(ownerPool)]
			for j := range s.Owners {
				o := &s.Owners[j]
				o.PID = int32(d.varint(-1<<31, 1<<31-1))
				o.Comm = d.str(true)
				o.Program = d.str(true)
				o.UID = uint32(d.uvarint(1<<32 - 1))
				o.FD = int32(d.varint(-1<<31, 1<<31-1))
			}
		}
		if d.err != nil {
			return nil, fmt.Errorf("decoding socket %d: %w", i, d.err)
		}
		out = append(out, s)
	}
	if d.err == nil && len(d.b) != 0 {
		return nil, fmt.Errorf("decoding sockets: %d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("decoding sockets: %w", d.err)
	}
	return out, nil
}
