//go:build freebsd

package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// bsdSysctl reads a sysctl, retrying when the buffer grew between the
// size probe and the read. A missing node (ENOENT: protocol not in the
// kernel) is reported as nil, nil.
func bsdSysctl(name string) ([]byte, error) {
	var err error
	for try := 0; try < bsdRetries; try++ {
		var b []byte
		b, err = unix.SysctlRaw(name)
		if err == nil {
			return b, nil
		}
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		if !errors.Is(err, unix.ENOMEM) {
			break
		}
	}
	return nil, fmt.Errorf("reading sysctl %s: %w", name, err)
}

// bsdPCBList reads and decodes one pcblist with bsdReadStable.
func bsdPCBList(name, table string, decode func([]byte) (BSDPCBList, error)) (BSDPCBList, []Warning, error) {
	return bsdReadStable(func() ([]byte, error) { return bsdSysctl(name) }, table, decode)
}

var bsdInetLists = []struct {
	name  string
	proto sock.Proto
}{
	{"net.inet.tcp.pcblist", sock.ProtoTCP},
	{"net.inet.udp.pcblist", sock.ProtoUDP},
	{"net.inet.raw.pcblist", sock.ProtoRaw},
}

var bsdUnixLists = []struct {
	name string
	typ  uint8
}{
	{"net.local.stream.pcblist", sock.TypeStream},
	{"net.local.dgram.pcblist", sock.TypeDgram},
	{"net.local.seqpacket.pcblist", sock.TypeSeqpacket},
}

// Sockets reads FreeBSD's pcblist sysctls and, with Options.Owners,
// kern.file. Options.Root does not apply (there is no file tree).
func Sockets(opts Options) (Result, error) {
	var res Result
	for _, l := range bsdInetLists {
		if !opts.wants(l.proto, sock.FamilyInet) && !opts.wants(l.proto, sock.FamilyInet6) {
			continue
		}
		pl, warn, err := bsdPCBList(l.name, l.proto.String(), func(b []byte) (BSDPCBList, error) { return DecodeBSDInetPCBList(b, l.proto) })
		if err != nil {
			return res, err
		}
		res.Warnings = append(res.Warnings, warn...)
		for _, s := range pl.Sockets {
			if opts.wants(s.Proto, s.Family) {
				res.Sockets = append(res.Sockets, s)
			}
		}
	}
	if opts.wants(sock.ProtoUnix, sock.FamilyUnix) {
		for _, l := range bsdUnixLists {
			pl, warn, err := bsdPCBList(l.name, bsdUnixTypeNames[l.typ], func(b []byte) (BSDPCBList, error) { return DecodeBSDUnixPCBList(b, l.typ) })
			if err != nil {
				return res, err
			}
			res.Warnings = append(res.Warnings, warn...)
			res.Sockets = append(res.Sockets, pl.Sockets...)
		}
	}
	if opts.Owners {
		b, err := bsdSysctl("kern.file")
		if err != nil {
			// Unprivileged in a jail, or kern.file refused: no owners.
			res.OwnersDenied = true
			return res, nil
		}
		files, err := DecodeBSDFiles(b)
		if err != nil {
			return res, err
		}
		res.OwnersFound = AttachBSDOwners(res.Sockets, files, bsdComm)
	}
	return res, nil
}

// bsdComm names a process by argv[0]'s base name from kern.proc.args
// (truncated to MAXCOMLEN like ki_comm), or "" when it has exited.
func bsdComm(pid int32) string {
	b, err := unix.SysctlRaw("kern.proc.args", int(pid))
	if err != nil || len(b) == 0 {
		return ""
	}
	arg0, _, _ := strings.Cut(string(b), "\x00")
	name := filepath.Base(arg0)
	if len(name) > 19 {
		name = name[:19]
	}
	return name
}

// BSDInterfaces reads NET_RT_IFLISTL (sysctl net.route.0.0.iflistl.0)
// as getifaddrs(3) does.
func BSDInterfaces() ([]BSDIfAddr, error) {
	var err error
	for try := 0; try < bsdRetries; try++ {
		var b []byte
		b, err = unix.SysctlRaw("net.route", 0, 0, unix.NET_RT_IFLISTL, 0)
		if err == nil {
			return DecodeBSDIfList(b)
		}
		if !errors.Is(err, unix.ENOMEM) {
			break
		}
	}
	return nil, fmt.Errorf("reading sysctl net.route.0.0.iflistl: %w", err)
}

// BSDUDPStats reads net.inet.udp.stats.
func BSDUDPStats() (BSDUDPStat, error) {
	b, err := bsdSysctl("net.inet.udp.stats")
	if err != nil {
		return BSDUDPStat{}, err
	}
	return DecodeBSDUDPStat(b)
}

// BSDIPStats reads net.inet.ip.stats.
func BSDIPStats() (BSDIPStat, error) {
	b, err := bsdSysctl("net.inet.ip.stats")
	if err != nil {
		return BSDIPStat{}, err
	}
	return DecodeBSDIPStat(b)
}

// BSDICMPStats reads net.inet.icmp.stats and whether the kernel answers
// address mask requests (net.inet.icmp.maskrepl).
func BSDICMPStats() (BSDICMPStat, bool, error) {
	b, err := bsdSysctl("net.inet.icmp.stats")
	if err != nil {
		return BSDICMPStat{}, false, err
	}
	s, err := DecodeBSDICMPStat(b)
	m, merr := unix.SysctlUint32("net.inet.icmp.maskrepl")
	return s, merr == nil && m != 0, err
}

// BSDTCPStats reads net.inet.tcp.stats and net.inet.tcp.states (the
// connection counts netstat prints after the counters).
func BSDTCPStats() (BSDTCPStat, [BSDTCPNStates]uint64, error) {
	var states [BSDTCPNStates]uint64
	b, err := bsdSysctl("net.inet.tcp.stats")
	if err != nil {
		return BSDTCPStat{}, states, err
	}
	rel, _ := unix.SysctlUint32("kern.osreldate") // 0 if unreadable: the size decides
	s, err := DecodeBSDTCPStat(b, rel)
	if err != nil {
		return s, states, err
	}
	if b, err = bsdSysctl("net.inet.tcp.states"); err != nil {
		return s, states, err
	}
	states, err = DecodeBSDTCPStates(b)
	return s, states, err
}
