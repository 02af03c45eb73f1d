package nettools

import (
	"net/netip"
	"testing"
)

type fixedNamer map[netip.Addr]string

func (fixedNamer) Service(p uint16, proto string) string {
	if p == 7000 {
		return "an-unusually-long-service-name"
	}
	return ""
}
func (n fixedNamer) Host(a netip.Addr) string { return n[a] }
func (fixedNamer) User(uint32) string         { return "" }

func TestAddrPortTruncation(t *testing.T) {
	long := netip.MustParseAddr("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff")
	namer := fixedNamer{netip.MustParseAddr("127.0.0.3"): "a-remarkably-long-host-name-for-truncation.example"}
	for _, c := range []struct {
		ap      netip.AddrPort
		numeric bool
		wide    bool
		want    string
	}{
		{netip.AddrPortFrom(long, 443), true, false, "2001:db8:aaaa:bbbb::443"},
		{netip.AddrPortFrom(long, 443), true, true, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:443"},
		{netip.MustParseAddrPort("127.0.0.1:7000"), false, false, "127.:an-unusually-long-"},
		{netip.MustParseAddrPort("127.0.0.3:80"), false, false, "a-remarkably-long-ho:80"},
		{netip.MustParseAddrPort("127.0.0.3:0"), false, false, "a-remarkably-long-hos:*"},
		{netip.MustParseAddrPort("0.0.0.0:0"), false, false, "0.0.0.0:*"},
		{netip.MustParseAddrPort("[::]:0"), false, false, "[::]:*"},
		{netip.MustParseAddrPort("[::]:0"), true, false, ":::*"},
		{netip.MustParseAddrPort("[::ffff:127.0.0.1]:80"), true, false, "127.0.0.1:80"},
	} {
		r := &renderer{Flags: &Flags{}, names: namer, numHosts: c.numeric, numPorts: c.numeric, wide: c.wide}
		if got := string(r.appendAddrPort(nil, c.ap, "tcp")); got != c.want {
			t.Errorf("addrPort(%v, numeric=%v, wide=%v) = %q, want %q", c.ap, c.numeric, c.wide, got, c.want)
		}
	}
}
