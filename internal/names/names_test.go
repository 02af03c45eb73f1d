package names

import (
	"strings"
	"testing"
)

// The port field is read as glibc's files backend reads it (checked with
// getent services on glibc 2.36): C base 0, 32 bits, low 16 kept, '/'
// repeated; the last line for a port wins, as net-tools prepends.
func TestParseServicesGlibcPorts(t *testing.T) {
	const file = `zoo-hex 0x2328/tcp
zoo-oct 010/tcp
zoo-dslash 9001//tcp
zoo-neg -1/tcp
zoo-big 70000/tcp
zoo-plus +9002/tcp
zoo-sp  9003/tcp  alias1 alias2
zoo-tab	9004/tcp#comment
zoo-upper 9005/TCP
zoo-2p32 4294967297/tcp
zoo-0x 0x/tcp
zoo-09 09/tcp
first 9006/udp
last 9006/udp
`
	s := Services{}
	s.ParseServices(strings.NewReader(file))
	for _, c := range []struct {
		port  uint16
		proto string
		want  string
	}{
		{9000, "tcp", "zoo-hex"}, {8, "tcp", "zoo-oct"}, {9001, "tcp", "zoo-dslash"},
		{65535, "tcp", ""}, {4464, "tcp", "zoo-big"}, {9002, "tcp", "zoo-plus"},
		{9003, "tcp", "zoo-sp"}, {9004, "tcp", "zoo-tab"}, {9005, "tcp", ""},
		{1, "tcp", ""}, {0, "tcp", ""}, {9, "tcp", ""}, {9006, "udp", "last"},
	} {
		if got := s.Lookup(c.port, c.proto); got != c.want {
			t.Errorf("Lookup(%d, %s) = %q, want %q", c.port, c.proto, got, c.want)
		}
	}
	if len(s) != 8 {
		t.Errorf("%d entries, want 8: %v", len(s), s)
	}
}
