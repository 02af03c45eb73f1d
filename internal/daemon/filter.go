package daemon

import (
	"github.com/bpfstat/bpfstat/internal/sock"
)

// restrictOwners makes a reply what net-tools shows a non-root user: a
// user can read /proc/PID/fd only of its own processes, so owners of other
// uids are dropped (netstat prints "-"), and the reply says owners are
// incomplete so the client prints netstat's warning. It returns how many
// sockets kept an owner.
func restrictOwners(socks []sock.Socket, uid uint32) (kept int) {
	for i := range socks {
		s := &socks[i]
		if len(s.Owners) == 0 {
			continue
		}
		own := s.Owners[:0:0]
		for _, o := range s.Owners {
			if o.UID == uid {
				own = append(own, o)
			}
		}
		if len(own) == 0 {
			own = nil
		} else {
			kept++
		}
		s.Owners = own
	}
	return kept
}

// filterSockets keeps the sockets of the wanted protocols and families
// (nil: all).
func filterSockets(socks []sock.Socket, protos []sock.Proto, fams []sock.Family) []sock.Socket {
	if len(protos) == 0 && len(fams) == 0 {
		return socks
	}
	out := socks[:0]
	for _, s := range socks {
		if len(protos) > 0 && !containsProto(protos, s.Proto) {
			continue
		}
		if len(fams) > 0 && !containsFamily(fams, s.Family) {
			continue
		}
		out = append(out, s)
	}
	return out
}

func containsProto(ps []sock.Proto, p sock.Proto) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func containsFamily(fs []sock.Family, f sock.Family) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// hideConn drops the unix sockets of the query's own connection.
func hideConn(socks []sock.Socket, conn [2]uint64) []sock.Socket {
	if conn == [2]uint64{} {
		return socks
	}
	out := socks[:0]
	for _, s := range socks {
		if s.Proto == sock.ProtoUnix && s.Inode != 0 && (s.Inode == conn[0] || s.Inode == conn[1]) {
			continue
		}
		out = append(out, s)
	}
	return out
}
