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
		port, proto, ok := servicePort(f[1])
		if !ok {
			continue
		}
		switch proto {
		case "tcp", "udp", "raw":
			s[serviceKey{port, proto}] = f[0]
		}
	}
}

// servicePort parses a "port/proto" field as glibc's files backend does
// (net-tools reads /etc/services through getservent): the number in C's
// base 0 (0x hex, leading-0 octal, an optional '+'), rejected past 32
// bits, kept to its low 16 (htons); then one or more '/'.
func servicePort(field string) (uint16, string, bool) {
	s := strings.TrimPrefix(field, "+")
	base := uint64(10)
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") && digit(s[2], 16) >= 0:
		base, s = 16, s[2:]
	case len(s) > 0 && s[0] == '0':
		base = 8
	}
	var v uint64
	i := 0
	for ; i < len(s); i++ {
		d := digit(s[i], base)
		if d < 0 {
			break
		}
		if v = v*base + uint64(d); v > 1<<32-1 {
			return 0, "", false
		}
	}
	if i == 0 || i == len(s) || s[i] != '/' {
		return 0, "", false
	}
	return uint16(v), strings.TrimLeft(s[i:], "/"), true
}

// digit is c's value in base, or -1.
func digit(c byte, base uint64) int {
	d := -1
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'f':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int(c-'A') + 10
	}
	if d >= int(base) {
		return -1
	}
	return d
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
