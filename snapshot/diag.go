package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// Netlink sock_diag decoding, pure so it can be fuzzed anywhere. The I/O
// lives in diag_linux.go.
//
// What sock_diag gives against /proc/net/{tcp,udp,raw}{,6}, field by field
// (kernel net/ipv4/tcp_ipv4.c get_tcp4_sock vs inet_diag.c
// inet_sk_diag_fill and tcp_diag.c tcp_diag_get_info):
//
//   - state, addresses, ports, uid, inode: the same values.
//   - Recv-Q: the same (sk_ack_backlog for listeners, rcv_nxt-copied_seq).
//   - Send-Q: the same (write_seq-snd_una) except for listeners, where
//     inet_diag reports sk_max_ack_backlog and /proc prints
//     write_seq-snd_una, 0 on a socket that never connected: we print 0.
//   - timer: the same kind numbers (1 retransmit, 2 keepalive, 3
//     timewait, 4 zero-window probe; 0 none). /proc prints the delay in
//     clock ticks (USER_HZ=100), inet_diag in milliseconds: both come from
//     the same jiffies delta, clamped at 0, and clock_t = ms/10 exactly for
//     HZ 100, 250 and 1000.
//   - retrnsmt and timeout (netstat -o's "/retr/probes"): /proc prints
//     icsk_retransmits and icsk_probes_out; inet_diag's single
//     idiag_retrans is icsk_retransmits for timer 1 and icsk_probes_out
//     for timers 2 and 4. The other counter is 0 in those states except
//     in rare overlaps (a keepalive probe after retransmissions).
//   - TIME_WAIT and request sockets: the same (tw_substate / SYN_RECV,
//     timer 3 / 1, zero queues, uid and inode), except that /proc prints
//     a request socket's listener's uid where inet_diag prints 0, and its
//     num_timeout where inet_diag prints num_retrans (they part under
//     TCP_DEFER_ACCEPT): a TCP table holding request sockets is read from
//     /proc instead (fixRequestUIDs remains for callers of the decoder).
//   - UDP: queues are udp_rqueue_get / sk_wmem_alloc_get in both.
//
// Unix sockets are not taken from sock_diag: /proc/net/unix prints the
// socket's reference count (netstat's RefCnt column), which unix_diag does
// not carry, so the fast path reads /proc/net/unix for them.

const (
	nlmsgHdrLen      = 16
	nlmsgNoop        = 1
	nlmsgError       = 2
	nlmsgDone        = 3
	sockDiagByFamily = 20
	nlmFRequest      = 0x1
	nlmFRoot         = 0x100
	nlmFMatch        = 0x200
	nlmFDump         = nlmFRoot | nlmFMatch

	inetDiagMsgLen = 72
	inetDiagReqLen = 56
	inetDiagInfo   = 2 // INET_DIAG_INFO attribute / extension
)

// errDiagTruncated is returned for a message shorter than its header says.
var errDiagTruncated = errors.New("truncated netlink message")

// diagRequest builds a NLM_F_DUMP request for inet sockets of one family
// and protocol (struct nlmsghdr + struct inet_diag_req_v2).
func diagRequest(family, protocol uint8, states uint32, ext uint8, seq uint32) []byte {
	b := make([]byte, nlmsgHdrLen+inetDiagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], sockDiagByFamily)
	ne.PutUint16(b[6:], nlmFRequest|nlmFDump)
	ne.PutUint32(b[8:], seq)
	r := b[nlmsgHdrLen:]
	r[0] = family
	r[1] = protocol
	r[2] = ext
	ne.PutUint32(r[4:], states)
	// id left zero: no filter. Cookie "none" is all ones.
	ne.PutUint32(r[8+40:], ^uint32(0))
	ne.PutUint32(r[8+44:], ^uint32(0))
	return b
}

// netlinkMessages walks one recvmsg buffer of netlink messages, calling fn
// for each sock_diag payload. done reports NLMSG_DONE; a NLMSG_ERROR
// becomes an error carrying the kernel's errno.
func netlinkMessages(buf []byte, seq uint32, fn func(payload []byte) error) (done bool, err error) {
	ne := binary.NativeEndian
	for len(buf) >= nlmsgHdrLen {
		l := ne.Uint32(buf[0:])
		typ := ne.Uint16(buf[4:])
		s := ne.Uint32(buf[8:])
		if l < nlmsgHdrLen || uint64(l) > uint64(len(buf)) {
			return false, errDiagTruncated
		}
		payload := buf[nlmsgHdrLen:l]
		// Messages are 4-byte aligned.
		next := (int(l) + 3) &^ 3
		if next > len(buf) {
			next = len(buf)
		}
		buf = buf[next:]
		if s != seq {
			continue // a stale answer to an earlier request
		}
		switch typ {
		case nlmsgNoop:
		case nlmsgDone:
			// A dump that failed (e.g. no handler for the protocol)
			// ends with the errno in NLMSG_DONE's payload.
			if len(payload) >= 4 {
				if errno := -int32(ne.Uint32(payload)); errno > 0 {
					return false, diagErrno(errno)
				}
			}
			return true, nil
		case nlmsgError:
			if len(payload) < 4 {
				return false, errDiagTruncated
			}
			errno := -int32(ne.Uint32(payload))
			if errno == 0 {
				return true, nil
			}
			return false, diagErrno(errno)
		case sockDiagByFamily:
			if err := fn(payload); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// diagErrno is an errno the kernel returned to a sock_diag request.
type diagErrno int32

func (e diagErrno) Error() string { return fmt.Sprintf("sock_diag: errno %d", int32(e)) }

// decodeInetDiag decodes one struct inet_diag_msg and its attributes into
// a socket as /proc/net would print it.
func decodeInetDiag(b []byte, proto sock.Proto) (sock.Socket, error) {
	var s sock.Socket
	if len(b) < inetDiagMsgLen {
		return s, fmt.Errorf("decoding inet_diag_msg: %w", errDiagTruncated)
	}
	ne := binary.NativeEndian
	family := b[0]
	state := b[1]
	timer := b[2]
	retrans := b[3]
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	var la, ra netip.Addr
	switch family {
	case 2:
		la = netip.AddrFrom4([4]byte(b[8:12]))
		ra = netip.AddrFrom4([4]byte(b[24:28]))
		s.Family = sock.FamilyInet
	case 10:
		la = netip.AddrFrom16([16]byte(b[8:24]))
		ra = netip.AddrFrom16([16]byte(b[24:40]))
		s.Family = sock.FamilyInet6
	default:
		return s, fmt.Errorf("decoding inet_diag_msg: address family %d", family)
	}
	s.Proto = proto
	s.Local = netip.AddrPortFrom(la, sport)
	s.Remote = netip.AddrPortFrom(ra, dport)
	s.State = sock.State(state)
	s.Cookie = uint64(ne.Uint32(b[44:])) | uint64(ne.Uint32(b[48:]))<<32
	expires := ne.Uint32(b[52:])
	s.RecvQ = uint64(ne.Uint32(b[56:]))
	s.SendQ = uint64(ne.Uint32(b[60:]))
	s.UID = ne.Uint32(b[64:])
	s.Inode = uint64(ne.Uint32(b[68:]))
	if proto == sock.ProtoRaw {
		s.RawProto = sport
	}
	if proto == sock.ProtoTCP && s.State == sock.StateListen {
		s.SendQ = 0 // see the comment at the top of the file
	}
	if proto == sock.ProtoTCP && s.State == sock.StateNewSynRecv {
		s.State = sock.StateSynRecv
	}
	if proto == sock.ProtoTCP {
		s.Timer.Kind = timer
		s.Timer.Ticks = uint64(expires) / 10
		if timer == 0 {
			s.Timer.Ticks = 0
		}
		switch timer {
		case 1:
			s.Timer.Retrans = uint64(retrans)
		case 2, 4:
			s.Timer.Timeout = int64(retrans)
		}
	}
	// Attributes: with INET_DIAG_INFO, struct tcp_info gives both
	// counters exactly (tcpi_retransmits at 2, tcpi_probes at 3).
	attrs := b[inetDiagMsgLen:]
	for len(attrs) >= 4 {
		l := int(ne.Uint16(attrs[0:]))
		typ := ne.Uint16(attrs[2:]) & 0x3fff
		if l < 4 || l > len(attrs) {
			break
		}
		if typ == inetDiagInfo && proto == sock.ProtoTCP && l >= 4+5 && timer != 3 {
			s.Timer.Retrans = uint64(attrs[4+2])
			s.Timer.Timeout = int64(attrs[4+3])
		}
		attrs = attrs[min((l+3)&^3, len(attrs)):]
	}
	return s, nil
}

// isRequest reports a request socket (SYN_RECV with no inode of its own),
// whose retry count only /proc/net/tcp has right.
func isRequest(s *sock.Socket) bool { return s.State == sock.StateSynRecv && s.Inode == 0 }

// fixRequestUIDs gives request sockets (SYN_RECV, inode 0) the uid of
// their listener, as /proc/net/tcp prints it.
func fixRequestUIDs(socks []sock.Socket) {
	type lkey struct {
		port uint16
		fam  sock.Family
	}
	var listeners map[netip.AddrPort]uint32
	var wild map[lkey]uint32
	for i := range socks {
		s := &socks[i]
		if s.State != sock.StateSynRecv || s.Inode != 0 {
			continue
		}
		if listeners == nil {
			listeners = make(map[netip.AddrPort]uint32)
			wild = make(map[lkey]uint32)
			for j := range socks {
				l := &socks[j]
				if l.Proto == sock.ProtoTCP && l.State == sock.StateListen {
					listeners[l.Local] = l.UID
					if l.Local.Addr().IsUnspecified() {
						wild[lkey{l.Local.Port(), l.Family}] = l.UID
					}
				}
			}
		}
		if uid, ok := listeners[s.Local]; ok {
			s.UID = uid
		} else if uid, ok := wild[lkey{s.Local.Port(), s.Family}]; ok {
			s.UID = uid
		}
	}
}

// parseSockstatHint sums the "inuse" and "tw" counts of a sockstat file.
func parseSockstatHint(b []byte) int {
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "sockets:" || f[0] == "FRAG:" || f[0] == "FRAG6:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "inuse" || f[i] == "tw" {
				if v, err := strconv.Atoi(f[i+1]); err == nil && v > 0 && v < 1<<24 {
					n += v
				}
			}
		}
	}
	return n
}
