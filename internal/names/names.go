// Package names turns numbers into the names net-tools prints: services
// from /etc/services (and IP protocols from /etc/protocols for raw
// sockets), host names from /etc/hosts then DNS, user names from
// /etc/passwd. Parsers are pure; Resolver caches and reads files lazily.
package names

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Services maps (port, proto) to a name with net-tools' precedence: it
// prepends every entry to a list and takes the first hit, so the LAST
// matching line of /etc/services wins, and for "raw" /etc/protocols
// entries (added after the services) win over services.
type Services map[serviceKey]string

type serviceKey struct {
	port  uint16
	proto string
}

// Lookup returns the name for port/proto, or "".
func (s Services) Lookup(port uint16, proto string) string { return s[serviceKey{port, proto}] }

func fields(line string) []string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	return strings.Fields(line)
}

// ParseServices reads /etc/services into s. Only tcp, udp and raw entries
// are kept, as net-tools keeps them.
func (s Services) ParseServices(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		num, proto, ok := strings.Cut(f[1], "/")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			continue
		}
		switch proto {
		case "tcp", "udp", "raw":
			s[serviceKey{uint16(port), proto}] = f[0]
		}
	}
}

// ParseProtocols reads /etc/protocols as raw "services".
func (s Services) ParseProtocols(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 16)
		if err != nil {
			continue
		}
		s[serviceKey{uint16(n), "raw"}] = f[0]
	}
}

// ParseHosts reads /etc/hosts into addr -> canonical name, first line
// wins as in glibc's files backend.
func ParseHosts(r io.Reader) map[netip.Addr]string {
	m := make(map[netip.Addr]string)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		a = a.WithZone("")
		if _, ok := m[a]; !ok {
			m[a] = f[1]
		}
	}
	return m
}

// ParsePasswd reads /etc/passwd into uid -> name, first line wins.
func ParsePasswd(r io.Reader) map[uint32]string {
	m := make(map[uint32]string)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, ok := m[uint32(uid)]; !ok {
			m[uint32(uid)] = f[0]
		}
	}
	return m
}
