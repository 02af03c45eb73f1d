// Package sock is bpfstat's socket model: one Socket type and one State
// type, filled alike by the /proc and sysctl snapshots, the eBPF tracer and
// the live table, and read by every renderer.
package sock

import (
	"fmt"
	"net/netip"
)

// Family is an address family with Linux's numbering (AF_UNIX=1,
// AF_INET=2, AF_INET6=10). FreeBSD code translates at its edge.
type Family uint8

const (
	FamilyUnix  Family = 1
	FamilyInet  Family = 2
	FamilyInet6 Family = 10
)

func (f Family) String() string {
	switch f {
	case FamilyUnix:
		return "unix"
	case FamilyInet:
		return "inet"
	case FamilyInet6:
		return "inet6"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// Proto is the transport a socket belongs to, as netstat groups them.
type Proto uint8

const (
	ProtoUnknown Proto = iota
	ProtoTCP
	ProtoUDP
	ProtoUDPLite
	ProtoRaw
	ProtoUnix
)

func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoUDPLite:
		return "udpl"
	case ProtoRaw:
		return "raw"
	case ProtoUnix:
		return "unix"
	}
	return "unknown"
}

// State is a socket state. For TCP, UDP and RAW sockets it holds the
// kernel's TCP state number (include/net/tcp_states.h), which is what
// /proc/net/{tcp,udp,raw} print and what inet_sock_set_state reports. For
// unix sockets it holds the socket_state (SS_*) number from /proc/net/unix.
type State uint8

// TCP states, numbered as in the kernel.
const (
	StateEstablished State = 1 + iota
	StateSynSent
	StateSynRecv
	StateFinWait1
	StateFinWait2
	StateTimeWait
	StateClose
	StateCloseWait
	StateLastAck
	StateListen
	StateClosing
	StateNewSynRecv
	StateBoundInactive
)

// Unix socket states (enum socket_state).
const (
	UnixFree          State = 0
	UnixUnconnected   State = 1
	UnixConnecting    State = 2
	UnixConnected     State = 3
	UnixDisconnecting State = 4
)

var tcpStateNames = [...]string{
	"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV", "BOUND_INACTIVE",
}

// String returns the TCP state's netstat name ("UNKNOWN" out of range).
func (s State) String() string {
	if int(s) < len(tcpStateNames) && s != 0 {
		return tcpStateNames[s]
	}
	return "UNKNOWN"
}

// ParseState maps a netstat state name back to its TCP state.
func ParseState(name string) (State, bool) {
	for i, n := range tcpStateNames {
		if i > 0 && n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Unix socket types (SOCK_*), as /proc/net/unix prints them.
const (
	TypeStream    uint8 = 1
	TypeDgram     uint8 = 2
	TypeRaw       uint8 = 3
	TypeRDM       uint8 = 4
	TypeSeqpacket uint8 = 5
)

// Unix socket flag bits as /proc/net/unix prints them.
const (
	UnixFlagAcceptCon uint32 = 1 << 16 // __SO_ACCEPTCON: a listener
	UnixFlagWaitData  uint32 = 1 << 17 // historic SO_WAITDATA
	UnixFlagNoSpace   uint32 = 1 << 18 // historic SO_NOSPACE
)

// Timer is the TCP timer triple netstat -o prints: which timer runs, how
// long until it fires in clock ticks (USER_HZ, as /proc/net/tcp has it),
// the retransmit count and the probe/timeout count.
type Timer struct {
	Kind    uint8  // 0 off, 1 on (retransmit), 2 keepalive, 3 timewait, 4 probe
	Ticks   uint64 // clock_t units until expiry
	Retrans uint64
	Timeout int64
}

// Owner is one process holding a socket through a file descriptor.
type Owner struct {
	PID     int32
	Comm    string // task comm (up to 15 bytes)
	Program string // net-tools' program name: argv[0]'s base name from cmdline
	UID     uint32 // the process's effective uid
	FD      int32  // -1 when not known
}

// Socket is one socket, from any source.
type Socket struct {
	Family Family
	Proto  Proto
	// Local and Remote are the addresses; for unix sockets both are zero.
	Local, Remote netip.AddrPort
	State         State
	RecvQ, SendQ  uint64
	// UID is the socket's owner uid (sock_i_uid), as /proc/net prints it.
	UID   uint32
	Inode uint64
	Timer Timer

	// RawProto is the IP protocol number of a RAW socket (the local
	// "port" in /proc/net/raw).
	RawProto uint16

	// Unix sockets.
	UnixType  uint8
	UnixFlags uint32
	UnixProto uint32 // the Protocol column of /proc/net/unix (always 0)
	RefCnt    uint64
	Path      string // as /proc/net/unix prints it: abstract names start with '@'
	// PeerInode is a connected unix socket's peer's inode (sock_diag
	// UNIX_DIAG_PEER; /proc/net/unix lacks it); 0 when unconnected or
	// not read.
	PeerInode uint64
	// V6Only is an AF_INET6 socket's IPV6_V6ONLY (sock_diag
	// INET_DIAG_SKV6ONLY): a wildcard-bound socket without it also
	// takes IPv4 (FreeBSD sockstat's "tcp46").
	V6Only bool
	// NoInode is set only for very old kernels whose /proc/net/unix
	// lacks the Inode column; netstat prints the inode as the path then.
	NoInode bool

	// Identity beyond /proc: filled by eBPF sources when known.
	Cookie uint64
	NetNS  uint64

	// Owners are the processes holding the socket, lowest pid first.
	Owners []Owner

	// BSD is what FreeBSD's pcblist sysctls export beyond this model,
	// for FreeBSD-style output; nil for sockets from Linux sources.
	BSD *BSD
}

// BSD holds a FreeBSD socket's kernel addresses and raw fields, as
// FreeBSD's netstat prints them. State above stays in Linux numbering.
type BSD struct {
	Socket uint64 // xso_so: the struct socket (kern.file's xf_data)
	PCB    uint64 // so_pcb: inpcb or unpcb
	PPCB   uint64 // inp_ppcb: the tcpcb (netstat -A)
	// Unix sockets: unp_vnode, unp_conn, xu_firstref, xu_nextref.
	Vnode, Conn, FirstRef, NextRef uint64
	VFlag                          uint8  // inp_vflag: INP_IPV4 0x1, INP_IPV6 0x2
	TCPState                       int32  // t_state in FreeBSD numbering (TCPS_*)
	TCPFlags                       uint32 // t_flags (TF_NEEDSYN/TF_NEEDFIN mark hidden states)
	InpFlags                       int32  // inp_flags (INP_ANONPORT: the local port is ephemeral)
	// Listen queue: so_qlen, so_incqlen, so_qlimit (netstat -L).
	QLen, IncQLen, QLimit uint32
}

// Key identifies a socket across sources: the inode when known.
func (s *Socket) Key() uint64 { return s.Inode }
