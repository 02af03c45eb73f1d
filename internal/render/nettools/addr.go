// Package nettools renders bpfstat's data exactly as net-tools netstat
// 2.10 prints it. It formats text only: data comes in as values.
package nettools

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/bpfstat/bpfstat/internal/ntop"
)

// Namer is the name service the renderer asks; names.Resolver is one.
type Namer interface {
	Service(port uint16, proto string) string
	Host(a netip.Addr) string
	User(uid uint32) string
}

// fixV4 strips a v4-mapped address's "::ffff:" as net-tools'
// fix_v4_address does: from the last ':' before the first '.'.
func fixV4(s string, a netip.Addr) string {
	if !a.Is4In6() {
		return s
	}
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s
	}
	if c := strings.LastIndexByte(s[:dot], ':'); c >= 0 {
		return s[c+1:]
	}
	return s
}

// hostString is net-tools' ap->sprint: INET_sprint or INET6_sprint,
// memoised per address (listings repeat a few addresses many times).
func (r *renderer) hostString(a netip.Addr) string {
	if a == r.lastAddr && r.lastHost != "" {
		return r.lastHost
	}
	h, ok := r.hosts[a]
	if !ok {
		h = r.hostStringUncached(a)
		if r.hosts == nil {
			r.hosts = make(map[netip.Addr]string)
		}
		r.hosts[a] = h
	}
	r.lastAddr, r.lastHost = a, h
	return h
}

func (r *renderer) hostStringUncached(a netip.Addr) string {
	if a.Is4() {
		b := a.As4()
		if r.numHosts || a.IsUnspecified() {
			return a.String()
		}
		// INET_rresolve tests "host bits" against 0xffffff00 in host
		// order on a network-order address: on little-endian machines
		// that is the first octet, so only 0.x.x.x addresses are taken
		// for networks (getnetbyaddr), which /etc/networks rarely names.
		if b[0] == 0 {
			return a.String()
		}
		if n := r.names.Host(a); n != "" {
			return n
		}
		return a.String()
	}
	if r.numHosts {
		return fixV4(ntop.IPv6(a), a)
	}
	if a.IsUnspecified() {
		return "[::]"
	}
	// getnameinfo asks for the IPv6 address as it is, v4-mapped ones
	// included (which /etc/hosts' IPv4 lines do not answer).
	if n := r.names.Host(a); n != "" {
		return fixV4(n, a)
	}
	return fixV4(ntop.IPv6(a), a)
}

type portKey struct {
	port  uint16
	proto string
}

// portString is net-tools' get_sname, memoised.
func (r *renderer) portString(port uint16, proto string) string {
	k := portKey{port, proto}
	if p, ok := r.ports[k]; ok {
		return p
	}
	p := r.portStringUncached(port, proto)
	if r.ports == nil {
		r.ports = make(map[portKey]string)
	}
	r.ports[k] = p
	return p
}

func (r *renderer) portStringUncached(port uint16, proto string) string {
	if port == 0 {
		return "*"
	}
	if !r.numPorts {
		if n := r.names.Service(port, proto); n != "" {
			if len(n) > 63 {
				n = n[:63]
			}
			return n
		}
	}
	return strconv.Itoa(int(port))
}

// appendAddrPort appends net-tools' addr_do_one with short_len 22: host
// and port, both cut so they fit 22 bytes unless -W, the whole cut to 127.
func (r *renderer) appendAddrPort(b []byte, ap netip.AddrPort, proto string) []byte {
	const short = 22
	host := r.hostString(ap.Addr())
	var port []byte
	if r.numPorts && ap.Port() != 0 {
		port = strconv.AppendUint(r.port[:0], uint64(ap.Port()), 10)
	} else {
		port = append(r.port[:0], r.portString(ap.Port(), proto)...)
	}
	r.port = port
	start := len(b)
	if !r.wide && len(host)+len(port) > short {
		pl := min(len(port), short-4)
		al := short - pl
		b = append(b, host[:min(al, len(host))]...)
		b = append(b, ':')
		b = append(b, port[:pl]...)
	} else {
		b = append(b, host...)
		b = append(b, ':')
		b = append(b, port...)
	}
	if len(b)-start > 127 {
		b = b[:start+127]
	}
	return b
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
