package daemon

import (
	"math"
	"net/netip"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// crec is one socket of a cached dump, packed to 88 bytes (a sock.Socket
// is 248, plus its owners): what a cached listing prints, and a
// TIME_WAIT socket's timer for leaving it out once it has run out.
// Owners are not kept: they are merged from the live table when a -p
// listing is rendered.
type crec struct {
	local, remote [16]byte
	inode, cookie uint64
	recvQ, sendQ  uint32
	uid, ticks    uint32
	lport, rport  uint16
	rawProto      uint16
	family        sock.Family
	proto         sock.Proto
	state         sock.State
	timerKind     uint8
	v4            bool
}

// pack packs s into r, or says it does not fit: a socket with a field
// that does not fit (unix, BSD, a queue or timer beyond 32 bits, an
// invalid or mixed-family address pair) keeps the whole dump as
// sock.Sockets (see packer).
func pack(s *sock.Socket, r *crec) bool {
	la, ra := s.Local.Addr(), s.Remote.Addr()
	if s.Proto == sock.ProtoUnix || s.BSD != nil || s.Path != "" || s.NoInode ||
		!la.IsValid() || !ra.IsValid() || la.Is4() != ra.Is4() || la.Zone() != "" || ra.Zone() != "" ||
		s.RecvQ > math.MaxUint32 || s.SendQ > math.MaxUint32 {
		return false
	}
	*r = crec{}
	if s.State == sock.StateTimeWait {
		if s.Timer.Ticks > math.MaxUint32 {
			return false
		}
		r.timerKind, r.ticks = s.Timer.Kind, uint32(s.Timer.Ticks)
	}
	r.local, r.remote = la.As16(), ra.As16()
	r.lport, r.rport = s.Local.Port(), s.Remote.Port()
	r.v4 = la.Is4()
	r.inode, r.cookie = s.Inode, s.Cookie
	r.recvQ, r.sendQ, r.uid = uint32(s.RecvQ), uint32(s.SendQ), s.UID
	r.rawProto, r.family, r.proto, r.state = s.RawProto, s.Family, s.Proto, s.State
	return true
}

// packer is the cache's snapshot.Collector: it packs sockets as the dump
// decodes them, with no slice of sock.Sockets in between. After one that
// does not pack, it keeps every socket as a sock.Socket instead.
type packer struct {
	recs  []crec
	socks []sock.Socket // non-nil once a socket did not pack
}

func (p *packer) Add(s *sock.Socket) {
	if p.socks == nil {
		var r crec
		if pack(s, &r) {
			p.recs = append(p.recs, r)
			return
		}
		p.socks = append(expand(p.recs), *s)
		p.recs = nil
		return
	}
	p.socks = append(p.socks, *s)
}

func (p *packer) Len() int {
	if p.socks != nil {
		return len(p.socks)
	}
	return len(p.recs)
}

func (p *packer) Truncate(n int) {
	if p.socks != nil {
		p.socks = p.socks[:n]
		return
	}
	p.recs = p.recs[:n]
}

// expand unpacks recs into sock.Sockets without owners.
func expand(recs []crec) []sock.Socket {
	socks := make([]sock.Socket, len(recs))
	for i := range recs {
		r := &recs[i]
		la, ra := netip.AddrFrom16(r.local), netip.AddrFrom16(r.remote)
		if r.v4 {
			la, ra = la.Unmap(), ra.Unmap()
		}
		socks[i] = sock.Socket{
			Family: r.family, Proto: r.proto, State: r.state,
			Local: netip.AddrPortFrom(la, r.lport), Remote: netip.AddrPortFrom(ra, r.rport),
			RecvQ: uint64(r.recvQ), SendQ: uint64(r.sendQ), UID: r.uid, Inode: r.inode,
			RawProto: r.rawProto, Cookie: r.cookie,
			Timer: sock.Timer{Kind: r.timerKind, Ticks: uint64(r.ticks)},
		}
	}
	return socks
}
