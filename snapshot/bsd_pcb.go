package snapshot

// Pure decoders for FreeBSD's socket sysctls (net.inet.{tcp,udp,raw}.pcblist,
// net.local.{stream,dgram,seqpacket}.pcblist, kern.file). No build tag: the
// FreeBSD I/O lives in snapshot_freebsd.go; these run and are tested anywhere.
//
// Layouts follow freebsd-src sys/sys/socketvar.h (struct xsocket),
// sys/netinet/in_pcb.h (xinpgen, xinpcb, in_conninfo), sys/netinet/tcp_var.h
// (xtcpcb), sys/sys/unpcb.h (xunpgen, xunpcb) and sys/sys/file.h (xfile) as
// of releng/13.x and releng/14.x. Since FreeBSD 12 these structs use ksize_t
// and kvaddr_t (both 64-bit) and explicit spares, so FreeBSD 13 and 14 share
// one layout on LP64 targets (amd64, arm64): 14 renamed spares (xsocket
// so_splice_so, xtcpcb t_dsack_* and xt_encaps_port) without moving any
// field we read. 32-bit targets pad xunpgen differently and are refused by
// the size checks. Every record is self-describing: its length field must
// match the size below or decoding stops with an error naming the struct.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// Struct sizes on LP64 FreeBSD 13.x/14.x.
const (
	bsdSizeXinpgen = 64  // struct xinpgen
	bsdSizeXsocket = 240 // struct xsocket
	bsdSizeXinpcb  = 400 // struct xinpcb
	bsdSizeXtcpcb  = 744 // struct xtcpcb
	bsdSizeXunpgen = 32  // struct xunpgen
	bsdSizeXunpcb  = 904 // struct xunpcb
	bsdSizeXfile   = 128 // struct xfile
)

// Offsets inside struct xsocket.
const (
	xsoLen      = 0
	xsoSo       = 8
	xsoPCB      = 16
	xsoProtocol = 96
	xsoFamily   = 100
	xsoQLen     = 104
	xsoIncQLen  = 108
	xsoQLimit   = 112
	xsoUID      = 120
	xsoType     = 156
	xsoRcvCC    = 168 // so_rcv.sb_cc (struct xsockbuf is 36 bytes)
	xsoSndCC    = 204 // so_snd.sb_cc
)

// Offsets inside struct xinpcb.
const (
	xiSocket   = 8
	xiFport    = 252 // inp_inc(248) + 4: in_endpoints.ie_fport, network order
	xiLport    = 254
	xiFaddr    = 256 // ie_dependfaddr: in6_addr, or in_addr at +12
	xiLaddr    = 272
	xiGencnt   = 296
	xiPPCB     = 304
	xiFlags    = 356
	xiVflag    = 392
	xtInp      = 8   // xtcpcb.xt_inp
	xtState    = 568 // xtcpcb.t_state
	xtFlags    = 572 // xtcpcb.t_flags
	inpIPv4    = 0x1 // INP_IPV4
	inpIPv6    = 0x2 // INP_IPV6
	inpAnonprt = 0x40
)

// Offsets inside struct xunpcb.
const (
	xuUnpp     = 8
	xuVnode    = 16
	xuConn     = 24
	xuFirstRef = 32
	xuNextRef  = 40
	xuGencnt   = 48
	xuAddr     = 152 // union { struct sockaddr_un; char[256] }
	xuSocket   = 664
)

// Offsets inside struct xfile.
const (
	xfPID  = 8
	xfUID  = 12
	xfFD   = 16
	xfType = 32
	xfData = 56
	// DTYPE_SOCKET in sys/file.h.
	bsdDtypeSocket = 2
)

// FreeBSD address families (sys/sys/socket.h).
const (
	bsdAFUnix  = 1
	bsdAFInet  = 2
	bsdAFInet6 = 28
)

// ErrBSDLayout means a FreeBSD sysctl record has a size this build does
// not know: a newer kernel or a 32-bit one.
var ErrBSDLayout = errors.New("unknown FreeBSD struct layout")

// ErrBSDGenChanged means the generation count in a pcblist's trailer
// differs from its header: the list changed while the kernel copied it
// out, and should be read again (sockstat and netstat do the same).
var ErrBSDGenChanged = errors.New("pcb generation changed during copyout")

var bsdNE = binary.NativeEndian

// BSDPCBList is one decoded pcblist sysctl.
type BSDPCBList struct {
	Gen, EndGen     uint64 // xig_gen / xug_gen in header and trailer
	Count, EndCount uint32 // xig_count / xug_count in header and trailer
	Sockets         []sock.Socket
}

// bsdFamily translates a FreeBSD AF_* to the model's Linux numbering.
func bsdFamily(af int32) (sock.Family, bool) {
	switch af {
	case bsdAFUnix:
		return sock.FamilyUnix, true
	case bsdAFInet:
		return sock.FamilyInet, true
	case bsdAFInet6:
		return sock.FamilyInet6, true
	}
	return 0, false
}

// BSD TCP states (netinet/tcp_fsm.h), in FreeBSD's numbering.
const (
	BSDTCPSClosed = iota
	BSDTCPSListen
	BSDTCPSSynSent
	BSDTCPSSynReceived
	BSDTCPSEstablished
	BSDTCPSCloseWait
	BSDTCPSFinWait1
	BSDTCPSClosing
	BSDTCPSLastAck
	BSDTCPSFinWait2
	BSDTCPSTimeWait
	BSDTCPNStates
)

var bsdToLinuxState = [BSDTCPNStates]sock.State{
	BSDTCPSClosed:      sock.StateClose,
	BSDTCPSListen:      sock.StateListen,
	BSDTCPSSynSent:     sock.StateSynSent,
	BSDTCPSSynReceived: sock.StateSynRecv,
	BSDTCPSEstablished: sock.StateEstablished,
	BSDTCPSCloseWait:   sock.StateCloseWait,
	BSDTCPSFinWait1:    sock.StateFinWait1,
	BSDTCPSClosing:     sock.StateClosing,
	BSDTCPSLastAck:     sock.StateLastAck,
	BSDTCPSFinWait2:    sock.StateFinWait2,
	BSDTCPSTimeWait:    sock.StateTimeWait,
}

// BSDStateToLinux maps a FreeBSD t_state to the model's State; ok is
// false out of range (the model keeps the raw value in Socket.BSD).
func BSDStateToLinux(s int32) (sock.State, bool) {
	if s < 0 || s >= BSDTCPNStates {
		return 0, false
	}
	return bsdToLinuxState[s], true
}

// LinuxStateToBSD is BSDStateToLinux's inverse, for rendering Linux
// sockets the FreeBSD way: NEW_SYN_RECV shows as SYN_RCVD and
// BOUND_INACTIVE as CLOSED.
func LinuxStateToBSD(s sock.State) int32 {
	switch s {
	case sock.StateNewSynRecv:
		return BSDTCPSSynReceived
	case sock.StateBoundInactive:
		return BSDTCPSClosed
	}
	for i, l := range bsdToLinuxState {
		if l == s {
			return int32(i)
		}
	}
	return -1
}

// bsdGen decodes a xinpgen/xunpgen header or trailer at b[0:].
func bsdGen(b []byte, size int, name string) (count uint32, gen uint64, err error) {
	if len(b) < size {
		return 0, 0, fmt.Errorf("reading struct %s: %d bytes left, want %d", name, len(b), size)
	}
	if l := bsdNE.Uint64(b); l != uint64(size) {
		return 0, 0, fmt.Errorf("reading struct %s: length %d, want %d: %w", name, l, size, ErrBSDLayout)
	}
	return bsdNE.Uint32(b[8:]), bsdNE.Uint64(b[16:]), nil
}

// bsdRecords walks the records between a pcblist's header and trailer,
// calling fn on each; every record must be recSize bytes long.
func bsdRecords(b []byte, genSize int, genName string, recSize int, recName string,
	fn func(rec []byte) error) (l BSDPCBList, err error) {
	l.Count, l.Gen, err = bsdGen(b, genSize, genName)
	if err != nil {
		return l, err
	}
	off := genSize
	for {
		if len(b)-off < 8 {
			return l, fmt.Errorf("reading pcblist: truncated at byte %d of %d, no trailing struct %s", off, len(b), genName)
		}
		n := bsdNE.Uint64(b[off:])
		if n == uint64(genSize) {
			break
		}
		if n != uint64(recSize) {
			return l, fmt.Errorf("reading record at byte %d: struct %s length %d, want %d: %w", off, recName, n, recSize, ErrBSDLayout)
		}
		if len(b)-off < recSize {
			return l, fmt.Errorf("reading record at byte %d: struct %s truncated (%d of %d bytes)", off, recName, len(b)-off, recSize)
		}
		if err := fn(b[off : off+recSize]); err != nil {
			return l, fmt.Errorf("reading record at byte %d: %w", off, err)
		}
		off += recSize
	}
	l.EndCount, l.EndGen, err = bsdGen(b[off:], genSize, genName)
	if err != nil {
		return l, err
	}
	if off+genSize != len(b) {
		return l, fmt.Errorf("reading pcblist: %d bytes after the trailing struct %s", len(b)-off-genSize, genName)
	}
	if l.Gen != l.EndGen {
		return l, fmt.Errorf("reading pcblist (gen %d, then %d): %w", l.Gen, l.EndGen, ErrBSDGenChanged)
	}
	return l, nil
}

// checkXsocket verifies the embedded struct xsocket's own length.
func checkXsocket(so []byte) error {
	if l := bsdNE.Uint64(so[xsoLen:]); l != bsdSizeXsocket {
		return fmt.Errorf("struct xsocket length %d, want %d: %w", l, bsdSizeXsocket, ErrBSDLayout)
	}
	return nil
}

// DecodeBSDInetPCBList decodes net.inet.tcp.pcblist (proto TCP: xtcpcb
// records) or net.inet.udp.pcblist / net.inet.raw.pcblist (xinpcb
// records). Like netstat it drops PCBs freed during copyout (inp_gencnt
// newer than the header's generation), other protocols' PCBs (except in
// the raw list) and PCBs with neither INP_IPV4 nor INP_IPV6. A changed
// generation returns the decoded list with an ErrBSDGenChanged error.
func DecodeBSDInetPCBList(b []byte, proto sock.Proto) (BSDPCBList, error) {
	recSize, recName := bsdSizeXinpcb, "xinpcb"
	var want int32
	switch proto {
	case sock.ProtoTCP:
		recSize, recName, want = bsdSizeXtcpcb, "xtcpcb", 6
	case sock.ProtoUDP:
		want = 17
	case sock.ProtoRaw:
		want = -1
	default:
		return BSDPCBList{}, fmt.Errorf("decoding pcblist: protocol %v has none", proto)
	}
	var out []sock.Socket
	var gen uint64
	if len(b) >= bsdSizeXinpgen {
		gen = bsdNE.Uint64(b[16:])
	}
	l, err := bsdRecords(b, bsdSizeXinpgen, "xinpgen", recSize, recName, func(rec []byte) error {
		inp := rec
		var state int32
		var tflags uint32
		if proto == sock.ProtoTCP {
			inp = rec[xtInp : xtInp+bsdSizeXinpcb]
			if l := bsdNE.Uint64(inp); l != bsdSizeXinpcb {
				return fmt.Errorf("struct xinpcb in xtcpcb: length %d, want %d: %w", l, bsdSizeXinpcb, ErrBSDLayout)
			}
			state = int32(bsdNE.Uint32(rec[xtState:]))
			tflags = bsdNE.Uint32(rec[xtFlags:])
		}
		so := inp[xiSocket : xiSocket+bsdSizeXsocket]
		if err := checkXsocket(so); err != nil {
			return err
		}
		protocol := int32(bsdNE.Uint32(so[xsoProtocol:]))
		if want >= 0 && protocol != want {
			return nil
		}
		if bsdNE.Uint64(inp[xiGencnt:]) > gen {
			return nil
		}
		vflag := inp[xiVflag]
		if vflag&(inpIPv4|inpIPv6) == 0 {
			return nil
		}
		s := sock.Socket{
			Proto: proto,
			RecvQ: uint64(bsdNE.Uint32(so[xsoRcvCC:])),
			SendQ: uint64(bsdNE.Uint32(so[xsoSndCC:])),
			UID:   bsdNE.Uint32(so[xsoUID:]),
			BSD: &sock.BSD{
				Socket:   bsdNE.Uint64(so[xsoSo:]),
				PCB:      bsdNE.Uint64(so[xsoPCB:]),
				PPCB:     bsdNE.Uint64(inp[xiPPCB:]),
				VFlag:    vflag,
				TCPState: state,
				TCPFlags: tflags,
				InpFlags: int32(bsdNE.Uint32(inp[xiFlags:])),
				QLen:     bsdNE.Uint32(so[xsoQLen:]),
				IncQLen:  bsdNE.Uint32(so[xsoIncQLen:]),
				QLimit:   bsdNE.Uint32(so[xsoQLimit:]),
			},
		}
		lport := binary.BigEndian.Uint16(inp[xiLport:])
		fport := binary.BigEndian.Uint16(inp[xiFport:])
		if vflag&inpIPv4 != 0 && vflag&inpIPv6 == 0 {
			s.Family = sock.FamilyInet
			s.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(inp[xiLaddr+12:xiLaddr+16])), lport)
			s.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(inp[xiFaddr+12:xiFaddr+16])), fport)
		} else {
			// INP_IPV6 (with INP_IPV4 too for a tcp46 socket).
			s.Family = sock.FamilyInet6
			s.Local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(inp[xiLaddr:xiLaddr+16])), lport)
			s.Remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(inp[xiFaddr:xiFaddr+16])), fport)
		}
		switch proto {
		case sock.ProtoTCP:
			if st, ok := BSDStateToLinux(state); ok {
				s.State = st
			}
		case sock.ProtoRaw:
			s.RawProto = uint16(protocol)
			s.State = sock.StateClose
		default:
			s.State = sock.StateClose
			if fport != 0 {
				s.State = sock.StateEstablished
			}
		}
		out = append(out, s)
		return nil
	})
	l.Sockets = out
	if err != nil {
		err = fmt.Errorf("decoding %s pcblist: %w", proto, err)
	}
	return l, err
}

// bsdUnixTypeNames names the unix pcblists by SOCK_* type.
var bsdUnixTypeNames = map[uint8]string{sock.TypeStream: "stream", sock.TypeDgram: "dgram", sock.TypeSeqpacket: "seqpacket"}

// DecodeBSDUnixPCBList decodes net.local.{stream,dgram,seqpacket}.pcblist.
// typ is the list's SOCK_* type (1, 2 or 5); records whose xsocket says
// otherwise keep their own type.
func DecodeBSDUnixPCBList(b []byte, typ uint8) (BSDPCBList, error) {
	var out []sock.Socket
	var gen uint64
	if len(b) >= bsdSizeXunpgen {
		gen = bsdNE.Uint64(b[16:])
	}
	l, err := bsdRecords(b, bsdSizeXunpgen, "xunpgen", bsdSizeXunpcb, "xunpcb", func(rec []byte) error {
		so := rec[xuSocket : xuSocket+bsdSizeXsocket]
		if err := checkXsocket(so); err != nil {
			return err
		}
		if bsdNE.Uint64(rec[xuGencnt:]) > gen {
			return nil
		}
		t := uint8(bsdNE.Uint16(so[xsoType:]))
		if t == 0 {
			t = typ
		}
		s := sock.Socket{
			Family:   sock.FamilyUnix,
			Proto:    sock.ProtoUnix,
			UnixType: t,
			RecvQ:    uint64(bsdNE.Uint32(so[xsoRcvCC:])),
			SendQ:    uint64(bsdNE.Uint32(so[xsoSndCC:])),
			UID:      bsdNE.Uint32(so[xsoUID:]),
			Path:     bsdSunPath(rec[xuAddr : xuAddr+256]),
			BSD: &sock.BSD{
				Socket:   bsdNE.Uint64(so[xsoSo:]),
				PCB:      bsdNE.Uint64(so[xsoPCB:]),
				Vnode:    bsdNE.Uint64(rec[xuVnode:]),
				Conn:     bsdNE.Uint64(rec[xuConn:]),
				FirstRef: bsdNE.Uint64(rec[xuFirstRef:]),
				NextRef:  bsdNE.Uint64(rec[xuNextRef:]),
				QLen:     bsdNE.Uint32(so[xsoQLen:]),
				IncQLen:  bsdNE.Uint32(so[xsoIncQLen:]),
				QLimit:   bsdNE.Uint32(so[xsoQLimit:]),
			},
		}
		if s.BSD.PCB == 0 {
			s.BSD.PCB = bsdNE.Uint64(rec[xuUnpp:])
		}
		switch {
		case s.BSD.QLimit != 0:
			s.State = sock.UnixUnconnected
			s.UnixFlags = sock.UnixFlagAcceptCon
		case s.BSD.Conn != 0:
			s.State = sock.UnixConnected
		default:
			s.State = sock.UnixUnconnected
		}
		out = append(out, s)
		return nil
	})
	l.Sockets = out
	if err != nil {
		name := bsdUnixTypeNames[typ]
		if name == "" {
			name = fmt.Sprintf("type %d", typ)
		}
		err = fmt.Errorf("decoding unix %s pcblist: %w", name, err)
	}
	return l, err
}

// bsdSunPath returns a sockaddr_un's path: sun_len bounds it, as in
// netstat's "%.*s" with sun_len - offsetof(sun_path), and a NUL ends it.
func bsdSunPath(sa []byte) string {
	if len(sa) < 2 || sa[1] != bsdAFUnix {
		return ""
	}
	n := int(sa[0]) - 2
	if n <= 0 {
		return ""
	}
	if n > len(sa)-2 {
		n = len(sa) - 2
	}
	p := sa[2 : 2+n]
	for i, c := range p {
		if c == 0 {
			return string(p[:i])
		}
	}
	return string(p)
}

// BSDFile is one socket descriptor from kern.file.
type BSDFile struct {
	PID    int32
	UID    uint32
	FD     int32
	Socket uint64 // xf_data: the struct socket, matched to xso_so
}

// DecodeBSDFiles decodes kern.file (an array of struct xfile) and keeps
// the socket descriptors.
func DecodeBSDFiles(b []byte) ([]BSDFile, error) {
	var out []BSDFile
	for off := 0; off < len(b); off += bsdSizeXfile {
		if len(b)-off < 8 {
			return out, fmt.Errorf("decoding kern.file: truncated at byte %d of %d", off, len(b))
		}
		if n := bsdNE.Uint64(b[off:]); n != bsdSizeXfile {
			return out, fmt.Errorf("decoding kern.file at byte %d: struct xfile length %d, want %d: %w", off, n, bsdSizeXfile, ErrBSDLayout)
		}
		if len(b)-off < bsdSizeXfile {
			return out, fmt.Errorf("decoding kern.file at byte %d: struct xfile truncated (%d of %d bytes)", off, len(b)-off, bsdSizeXfile)
		}
		x := b[off : off+bsdSizeXfile]
		if int16(bsdNE.Uint16(x[xfType:])) != bsdDtypeSocket {
			continue
		}
		out = append(out, BSDFile{
			PID:    int32(bsdNE.Uint32(x[xfPID:])),
			UID:    bsdNE.Uint32(x[xfUID:]),
			FD:     int32(bsdNE.Uint32(x[xfFD:])),
			Socket: bsdNE.Uint64(x[xfData:]),
		})
	}
	return out, nil
}

// AttachBSDOwners fills Socket.Owners from kern.file descriptors, matching
// xf_data to xso_so as sockstat does. comm names a pid (nil: no names).
// Owners are sorted by pid, then fd.
func AttachBSDOwners(socks []sock.Socket, files []BSDFile, comm func(pid int32) string) int {
	byAddr := make(map[uint64][]BSDFile, len(files))
	for _, f := range files {
		byAddr[f.Socket] = append(byAddr[f.Socket], f)
	}
	names := map[int32]string{}
	found := 0
	for i := range socks {
		s := &socks[i]
		if s.BSD == nil || s.BSD.Socket == 0 {
			continue
		}
		fs := byAddr[s.BSD.Socket]
		if len(fs) == 0 {
			continue
		}
		found++
		for _, f := range fs {
			name, ok := names[f.PID]
			if !ok && comm != nil {
				name = comm(f.PID)
				names[f.PID] = name
			}
			s.Owners = append(s.Owners, sock.Owner{PID: f.PID, Comm: name, Program: name, UID: f.UID, FD: f.FD})
		}
		bsdSortOwners(s.Owners)
	}
	return found
}

func bsdSortOwners(o []sock.Owner) {
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && (o[j].PID < o[j-1].PID || o[j].PID == o[j-1].PID && o[j].FD < o[j-1].FD); j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

// bsdRetries bounds how often a pcblist is read again while its
// generation count changes during copyout (sockstat retries as often).
const bsdRetries = 5

// bsdReadStable reads a pcblist with read and decodes it, again while
// its generation changes; after bsdRetries it keeps the last reading
// with netstat's notice as a warning. A nil buffer (the sysctl does not
// exist: protocol not in the kernel) is an empty list.
func bsdReadStable(read func() ([]byte, error), table string, decode func([]byte) (BSDPCBList, error)) (BSDPCBList, []Warning, error) {
	var last BSDPCBList
	for try := 0; try < bsdRetries; try++ {
		b, err := read()
		if err != nil || b == nil {
			return BSDPCBList{}, nil, err
		}
		l, err := decode(b)
		if errors.Is(err, ErrBSDGenChanged) {
			last = l
			continue
		}
		return l, nil, err
	}
	return last, []Warning{{Table: table, Text: fmt.Sprintf("Some %s sockets may have been created or deleted.", table)}}, nil
}
