package ntop

import (
	"net/netip"
	"testing"
)

func TestIPv6(t *testing.T) {
	// Expected strings are glibc inet_ntop's.
	for in, want := range map[string]string{
		"::":                                     "::",
		"::1":                                    "::1",
		"::ffff:127.0.0.1":                       "::ffff:127.0.0.1",
		"::1.2.3.4":                              "::1.2.3.4",
		"::0.0.1.2":                              "::102",
		"1::":                                    "1::",
		"fe80::1":                                "fe80::1",
		"2001:db8:0:0:1:0:0:1":                   "2001:db8::1:0:0:1",
		"2001:db8:0:1:0:0:0:1":                   "2001:db8:0:1::1",
		"1:0:1:0:1:0:1:0":                        "1:0:1:0:1:0:1:0",
		"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff": "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff",
	} {
		if got := IPv6(netip.MustParseAddr(in)); got != want {
			t.Errorf("IPv6(%s) = %q, want %q", in, got, want)
		}
	}
}
