package getopt

import (
	"bytes"
	"strings"
	"testing"
)

var longs = []Long{
	{"ax25", NoArgument, 1}, {"appletalk", NoArgument, 1}, {"inet", NoArgument, 1},
	{"inet6", NoArgument, 1}, {"interfaces", NoArgument, 'i'}, {"all", NoArgument, 'a'},
	{"protocol", RequiredArgument, 'A'}, {"tcp", NoArgument, 't'},
	{"numeric", NoArgument, 'n'}, {"numeric-hosts", NoArgument, '!'}, {"numeric-ports", NoArgument, '@'},
}

func collect(args ...string) (string, string) {
	var e bytes.Buffer
	p := New("netstat", "A:ant?", longs, args, &e)
	var out []string
	for {
		o := p.Next()
		if o.Val == 0 {
			break
		}
		s := string(o.Val)
		if o.LongIdx >= 0 {
			s = "--" + longs[o.LongIdx].Name
		}
		if o.HasArg {
			s += "=" + o.Arg
		}
		out = append(out, s)
	}
	out = append(out, "|"+strings.Join(p.Operands(), ","))
	return strings.Join(out, " "), e.String()
}

func TestGlibcBehaviour(t *testing.T) {
	for _, c := range []struct {
		args      []string
		out, errs string
	}{
		{[]string{"-tan"}, "t a n |", ""},
		{[]string{"x", "-Ainet", "y", "-A", "inet6", "--", "-t"}, "A=inet A=inet6 |x,y,-t", ""},
		{[]string{"-k"}, "? |", "netstat: invalid option -- 'k'\n"},
		{[]string{"-A"}, "? |", "netstat: option requires an argument -- 'A'\n"},
		{[]string{"--num"}, "? |", "netstat: option '--num' is ambiguous; possibilities: '--numeric' '--numeric-hosts' '--numeric-ports'\n"},
		{[]string{"--in"}, "? |", "netstat: option '--in' is ambiguous; possibilities: '--inet' '--interfaces'\n"},
		{[]string{"--a"}, "? |", "netstat: option '--a' is ambiguous; possibilities: '--ax25' '--all'\n"},
		{[]string{"--ine"}, "--inet |", ""},
		{[]string{"--tcp=1"}, "? |", "netstat: option '--tcp' doesn't allow an argument\n"},
		{[]string{"--prot"}, "? |", "netstat: option '--protocol' requires an argument\n"},
		{[]string{"--prot", "unix"}, "--protocol=unix |", ""},
		{[]string{"--foo=bar"}, "? |", "netstat: unrecognized option '--foo=bar'\n"},
		{[]string{"-", "-?"}, "? |-", ""},
		// Bytes, not runes: glibc prints a non-ASCII option byte raw.
		{[]string{"-\xe9"}, "? |", "netstat: invalid option -- '\xe9'\n"},
		{[]string{"-é"}, "? ? |", "netstat: invalid option -- '\xc3'\nnetstat: invalid option -- '\xa9'\n"},
	} {
		out, errs := collect(c.args...)
		if out != c.out || errs != c.errs {
			t.Errorf("%q: got %q %q, want %q %q", c.args, out, errs, c.out, c.errs)
		}
	}
}
