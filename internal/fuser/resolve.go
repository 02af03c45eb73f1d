package fuser

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
)

// Family restricts name resolution like getaddrinfo's ai_family.
type Family uint8

const (
	FamilyAny Family = iota
	Family4
	Family6
)

// gai_strerror texts psmisc prints.
var (
	ErrService = errors.New("Servname not supported for ai_socktype")
	ErrNoName  = errors.New("Name or service not known")
)

// Resolver resolves the parts of a network name as glibc's getaddrinfo
// does for psmisc.
type Resolver interface {
	// Service resolves a port number or service name for tcp (stream)
	// or udp.
	Service(spec string, stream bool) (uint16, error)
	// Remote resolves getaddrinfo(host, port): hasHost/hasPort false
	// stand for NULL. Without a host the loopback addresses come back.
	Remote(host string, hasHost bool, port string, hasPort bool, fam Family, stream bool) ([]netip.AddrPort, error)
}

// SystemResolver reads services from a services(5) file and resolves
// hosts with Go's resolver (which reads /etc/hosts first).
type SystemResolver struct {
	ServicesPath string // default /etc/services

	once     sync.Once
	services map[string]uint16 // "name/proto"
}

// ParseServices reads services(5): "name port/proto aliases... # comment".
// The first entry of a name/proto wins, as with getservbyname.
func ParseServices(r io.Reader) map[string]uint16 {
	m := make(map[string]uint16)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		portStr, proto, ok := strings.Cut(f[1], "/")
		if !ok {
			continue
		}
		var port uint32
		bad := portStr == ""
		for _, c := range portStr {
			if c < '0' || c > '9' || port > 65535 {
				bad = true
				break
			}
			port = port*10 + uint32(c-'0')
		}
		if bad || port > 65535 {
			continue
		}
		for _, name := range append([]string{f[0]}, f[2:]...) {
			k := name + "/" + proto
			if _, dup := m[k]; !dup {
				m[k] = uint16(port)
			}
		}
	}
	return m
}

func (r *SystemResolver) lookupService(name string, stream bool) (uint16, bool) {
	r.once.Do(func() {
		p := r.ServicesPath
		if p == "" {
			p = "/etc/services"
		}
		if f, err := os.Open(p); err == nil {
			r.services = ParseServices(f)
			f.Close()
		}
	})
	proto := "udp"
	if stream {
		proto = "tcp"
	}
	port, ok := r.services[name+"/"+proto]
	return port, ok
}

// NumericService applies glibc's rule for a numeric service: strtoul
// (leading blanks, a sign, saturating at ULONG_MAX) stored into an int;
// a negative int means "look it up by name", anything else is truncated
// to 16 bits by htons. ok is false when the string is not all number.
func NumericService(s string) (port uint16, numeric bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start || i != len(s) {
		return 0, false
	}
	if overflow {
		v = ^uint64(0)
	} else if neg {
		v = -v
	}
	n := int32(uint32(v))
	if n < 0 {
		return 0, false
	}
	return uint16(n), true
}

func (r *SystemResolver) service(spec string, stream bool) (uint16, error) {
	if spec == "" {
		return 0, nil
	}
	if p, ok := NumericService(spec); ok {
		return p, nil
	}
	if p, ok := r.lookupService(spec, stream); ok {
		return p, nil
	}
	return 0, ErrService
}

// Service implements Resolver.
func (r *SystemResolver) Service(spec string, stream bool) (uint16, error) {
	if spec == "" {
		return 0, ErrNoName
	}
	return r.service(spec, stream)
}

// Remote implements Resolver.
func (r *SystemResolver) Remote(host string, hasHost bool, port string, hasPort bool, fam Family, stream bool) ([]netip.AddrPort, error) {
	var p uint16
	if hasPort {
		var err error
		if p, err = r.service(port, stream); err != nil {
			return nil, err
		}
	}
	var addrs []netip.Addr
	switch {
	case !hasHost || host == "":
		if fam != Family4 {
			addrs = append(addrs, netip.IPv6Loopback())
		}
		if fam != Family6 {
			addrs = append(addrs, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
		}
	default:
		if a, err := netip.ParseAddr(host); err == nil {
			// A v4-mapped literal stays AF_INET6, as in getaddrinfo.
			addrs = []netip.Addr{a.WithZone("")}
			if a.Is4() && fam == Family6 || a.Is6() && fam == Family4 {
				return nil, ErrNoName
			}
			break
		}
		network := "ip"
		switch fam {
		case Family4:
			network = "ip4"
		case Family6:
			network = "ip6"
		}
		ips, err := net.DefaultResolver.LookupNetIP(context.Background(), network, host)
		if err != nil {
			return nil, err
		}
		for _, a := range ips {
			addrs = append(addrs, a.Unmap())
		}
	}
	out := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(a, p))
	}
	return out, nil
}
