package snapshot

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// What /proc/net cannot tell, sock_diag can: a unix socket's peer and
// owner, an IPv6 socket's V6ONLY. Both dumps are one netlink round trip.

const (
	peerDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY

	peerShowPeer = 0x04 // UDIAG_SHOW_PEER
	peerShowUID  = 0x40 // UDIAG_SHOW_UID
	peerAttrPeer = 2    // UNIX_DIAG_PEER
	peerAttrUID  = 7    // UNIX_DIAG_UID

	peerAttrV6Only = 11 // INET_DIAG_SKV6ONLY
)

// UnixDiag is what sock_diag tells about one unix socket.
type UnixDiag struct {
	Peer   uint64
	UID    uint32
	HasUID bool
}

// UnixPeers dumps every unix socket of the caller's network namespace:
// inode -> peer inode and owner uid.
func UnixPeers() (map[uint64]UnixDiag, error) {
	// struct unix_diag_req: family, protocol, pad16, states, ino, show, cookie[2].
	req := make([]byte, 24)
	req[0] = unix.AF_UNIX
	binary.NativeEndian.PutUint32(req[4:], ^uint32(0))
	binary.NativeEndian.PutUint32(req[12:], peerShowPeer|peerShowUID)
	out := make(map[uint64]UnixDiag)
	err := peerDiagDump(req, func(msg []byte) {
		// struct unix_diag_msg: family, type, state, pad, ino, cookie[2].
		if len(msg) < 16 {
			return
		}
		ino := uint64(binary.NativeEndian.Uint32(msg[4:]))
		var d UnixDiag
		for _, a := range peerAttrs(msg[16:]) {
			switch {
			case a.typ == peerAttrPeer && len(a.data) >= 4:
				d.Peer = uint64(binary.NativeEndian.Uint32(a.data))
			case a.typ == peerAttrUID && len(a.data) >= 4:
				d.UID, d.HasUID = binary.NativeEndian.Uint32(a.data), true
			}
		}
		out[ino] = d
	})
	if err != nil {
		return nil, fmt.Errorf("dumping unix sockets: %w", err)
	}
	return out, nil
}

// InetV6Only dumps the AF_INET6 sockets of proto (unix.IPPROTO_TCP or
// IPPROTO_UDP) that the kernel reports IPV6_V6ONLY for (listening and
// unconnected ones): inode -> v6only.
func InetV6Only(proto uint8) (map[uint64]bool, error) {
	// struct inet_diag_req_v2: family, protocol, ext, pad, states, id (48 bytes).
	req := make([]byte, 56)
	req[0] = unix.AF_INET6
	req[1] = proto
	binary.NativeEndian.PutUint32(req[4:], ^uint32(0))
	out := make(map[uint64]bool)
	err := peerDiagDump(req, func(msg []byte) {
		// struct inet_diag_msg is 72 bytes; the inode is its last field.
		if len(msg) < 72 {
			return
		}
		ino := uint64(binary.NativeEndian.Uint32(msg[68:]))
		for _, a := range peerAttrs(msg[72:]) {
			if a.typ == peerAttrV6Only && len(a.data) >= 1 {
				out[ino] = a.data[0] != 0
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("dumping inet6 sockets: %w", err)
	}
	return out, nil
}

// FillSockDiag adds sock_diag's unix peers and owners and IPv6 V6ONLY
// flags to socks. Unix sockets keep a UID already known.
func FillSockDiag(socks []sock.Socket) error {
	var needUnix, needTCP, needUDP bool
	for i := range socks {
		switch s := &socks[i]; {
		case s.Proto == sock.ProtoUnix:
			needUnix = true
		case s.Family == sock.FamilyInet6 && s.Proto == sock.ProtoTCP:
			needTCP = true
		case s.Family == sock.FamilyInet6 && s.Proto == sock.ProtoUDP:
			needUDP = true
		}
	}
	var ud map[uint64]UnixDiag
	v6 := map[sock.Proto]map[uint64]bool{}
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	var err error
	if needUnix {
		if ud, err = UnixPeers(); err != nil {
			keep(err)
		}
	}
	if needTCP {
		if v6[sock.ProtoTCP], err = InetV6Only(unix.IPPROTO_TCP); err != nil {
			keep(err)
		}
	}
	if needUDP {
		if v6[sock.ProtoUDP], err = InetV6Only(unix.IPPROTO_UDP); err != nil {
			keep(err)
		}
	}
	for i := range socks {
		s := &socks[i]
		switch {
		case s.Proto == sock.ProtoUnix:
			if d, ok := ud[s.Inode]; ok {
				s.PeerInode = d.Peer
				if d.HasUID && s.UID == 0 {
					s.UID = d.UID
				}
			}
		case s.Family == sock.FamilyInet6:
			if m := v6[s.Proto]; m != nil {
				s.V6Only = m[s.Inode]
			}
		}
	}
	return firstErr
}

type peerAttr struct {
	typ  uint16
	data []byte
}

func peerAttrs(b []byte) []peerAttr {
	var out []peerAttr
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		t := binary.NativeEndian.Uint16(b[2:]) & 0x3fff
		if l < 4 || l > len(b) {
			break
		}
		out = append(out, peerAttr{t, b[4:l]})
		al := (l + 3) &^ 3
		if al > len(b) {
			break
		}
		b = b[al:]
	}
	return out
}

// peerDiagDump sends one SOCK_DIAG_BY_FAMILY dump request and hands each
// reply's payload to fn.
func peerDiagDump(req []byte, fn func(msg []byte)) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("opening sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	hdr := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(req))
	binary.NativeEndian.PutUint32(hdr[0:], uint32(unix.NLMSG_HDRLEN+len(req)))
	binary.NativeEndian.PutUint16(hdr[4:], peerDiagByFamily)
	binary.NativeEndian.PutUint16(hdr[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(hdr[8:], 1)
	msg := append(hdr, req...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sending sock_diag request: %w", err)
	}
	buf := make([]byte, 1<<16)
	for range 1 << 20 { // bounded: a dump ends with NLMSG_DONE long before
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("reading sock_diag reply: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("parsing sock_diag reply: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
						return os.NewSyscallError("sock_diag", unix.Errno(-e))
					}
				}
				return nil
			}
			fn(m.Data)
		}
	}
	return fmt.Errorf("reading sock_diag reply: no end of dump")
}
