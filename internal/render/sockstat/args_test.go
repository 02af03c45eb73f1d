package sockstat

import (
	"slices"
	"strings"
	"testing"
)

func TestParseArgsDefaults(t *testing.T) {
	cases := []struct {
		args             string
		v4, v6, unix     bool
		conn, listen     bool
		protos           []int
		json, quiet, wid bool
		netns            string
	}{
		{"", true, true, true, true, true, []int{ProtoSCTP, ProtoTCP, ProtoUDP, ProtoDivert}, false, false, false, ""},
		{"-4", true, false, false, true, true, []int{ProtoSCTP, ProtoTCP, ProtoUDP, ProtoDivert}, false, false, false, ""},
		{"-u", false, false, true, true, true, nil, false, false, false, ""},
		{"-P tcp", true, true, false, true, true, []int{ProtoTCP}, false, false, false, ""},
		{"-Ptcp,udp -u -l", true, true, true, false, true, []int{ProtoTCP, ProtoUDP}, false, false, false, ""},
		{"-c6", false, true, false, true, false, []int{ProtoSCTP, ProtoTCP, ProtoUDP, ProtoDivert}, false, false, false, ""},
		{"--json -qw -j 1234", true, true, true, true, true, []int{ProtoSCTP, ProtoTCP, ProtoUDP, ProtoDivert}, true, true, true, "1234"},
		{"-j/run/netns/x", true, true, true, true, true, []int{ProtoSCTP, ProtoTCP, ProtoUDP, ProtoDivert}, false, false, false, "/run/netns/x"},
	}
	for _, c := range cases {
		o, _, err := ParseArgs(strings.Fields(c.args))
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if o.IPv4 != c.v4 || o.IPv6 != c.v6 || o.Unix != c.unix || o.Connected != c.conn || o.Listening != c.listen ||
			!slices.Equal(o.Protos, c.protos) || o.JSON != c.json || o.Quiet != c.quiet || o.Wide != c.wid || o.NetNS != c.netns {
			t.Errorf("%q: got %+v", c.args, o)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	usage := Usage + "\n"
	cases := []struct{ args, want string }{
		{"-x", "sockstat: illegal option -- x\n" + usage},
		{"-p", "sockstat: option requires an argument -- p\n" + usage},
		{"extra", usage},
		{"-4 extra", usage},
		{"-p 80-", "sockstat: invalid port number\n"},
		{"-p 90-80", "sockstat: invalid port number\n"},
		{"-p 70000", "sockstat: invalid port number\n"},
		{"-p x", "sockstat: syntax error in port range\n"},
		{"-p 80,,81", "sockstat: syntax error in port range\n"},
		{"-P raw", "sockstat: protocol 255 not supported\n"},
	}
	for _, c := range cases {
		_, _, err := ParseArgs(strings.Fields(c.args))
		ae, ok := err.(*ArgError)
		if !ok {
			t.Errorf("%q: err = %v, want an ArgError", c.args, err)
			continue
		}
		if ae.Error() != c.want {
			t.Errorf("%q: got %q, want %q", c.args, ae.Error(), c.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	o, _, err := ParseArgs([]string{"-p", "22,80-82,443", "-p", "9000"})
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 65536; p++ {
		want := p == 22 || (p >= 80 && p <= 82) || p == 443 || p == 9000
		if o.portWanted(uint16(p)) != want {
			t.Errorf("port %d: wanted=%v", p, !want)
		}
	}
}

func TestParseArgsUnknownProtocol(t *testing.T) {
	o, warns, err := ParseArgs([]string{"-P", "nosuchproto,tcp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !slices.Equal(o.Protos, []int{ProtoTCP}) {
		t.Errorf("got protos %v warnings %q", o.Protos, warns)
	}
}
