// Package sockstat renders FreeBSD 14 sockstat(1)'s listing: one line per
// (process, descriptor) holding a socket, then "?" lines for sockets no
// process holds, in sockstat's exact column layout. It also parses
// sockstat's command line (BSD getopt) so the binary can run as sockstat.
package sockstat

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// IP protocol numbers sockstat can gather.
const (
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoSCTP   = 132
	ProtoDivert = 258
)

// Options are sockstat's flags after its defaults were applied.
type Options struct {
	IPv4, IPv6, Unix     bool
	Connected, Listening bool
	NoLoopback           bool // -L
	Numeric              bool // -n
	Quiet                bool // -q
	State                bool // -s
	Stack                bool // -S
	CC                   bool // -C
	Encaps               bool // -U
	ID                   bool // -i: the socket inode on Linux
	Wide                 bool // -w
	Verbose              int  // -v
	JSON                 bool // --json
	// Protos are the IP protocols to gather (sockstat's default: sctp,
	// tcp, udp, divert), in order.
	Protos []int
	// Ports, when set, keeps inet sockets whose local or foreign port is
	// in it.
	Ports *[65536 / 64]uint64
	// NetNS is -j's argument: a network namespace path, a pid or an
	// "ip netns" name (Linux's stand-in for a jail).
	NetNS string
}

// Usage is sockstat's usage line.
const Usage = "usage: sockstat [-46CciLlnqSsUuvw] [-j jid] [-p ports] [-P protocols]"

// ArgError is a command-line error: Msg goes to stderr prefixed with
// "sockstat: ", each of Lines verbatim, and sockstat exits with Status.
type ArgError struct {
	Lines []string
}

func (e *ArgError) Error() string { return strings.Join(e.Lines, "") }

// usageErr: FreeBSD 14's usage() prints the line as is (no program
// name) and exits 1.
func usageErr(pre ...string) *ArgError {
	return &ArgError{Lines: append(pre, Usage+"\n")}
}

// Protocols maps protocol names to numbers as getprotobyname would;
// ReadProtocols fills it from /etc/protocols, these are the fallback.
var Protocols = map[string]int{
	"ip": 0, "icmp": 1, "tcp": 6, "udp": 17, "ipv6": 41, "sctp": 132,
	"udplite": 136, "divert": 258, "raw": 255,
}

var readProtocolsOnce bool

// readProtocols adds /etc/protocols's names and aliases.
func readProtocols() {
	if readProtocolsOnce {
		return
	}
	readProtocolsOnce = true
	f, err := os.Open("/etc/protocols")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fl := strings.Fields(line)
		if len(fl) < 2 {
			continue
		}
		n, err := strconv.Atoi(fl[1])
		if err != nil {
			continue
		}
		for _, name := range append([]string{fl[0]}, fl[2:]...) {
			if _, ok := Protocols[name]; !ok {
				Protocols[name] = n
			}
		}
	}
}

// ParseArgs parses sockstat's arguments with BSD getopt's rules
// ("46Ccij:Llnp:P:qSsUuvw": no permutation, "--" ends options) plus
// bpfstat's --json, and applies sockstat's defaults. Warnings (unknown
// protocol names) are returned for stderr.
func ParseArgs(args []string) (o Options, warnings []string, err error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if a == "--json" {
			o.JSON = true
			continue
		}
		rest = append(rest, a)
	}
	args = rest
	protosDefined := -1
	i := 0
parse:
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			needArg := c == 'j' || c == 'p' || c == 'P'
			var optarg string
			if needArg {
				if j+1 < len(a) {
					optarg = a[j+1:]
				} else if i+1 < len(args) {
					i++
					optarg = args[i]
				} else {
					return o, nil, usageErr(fmt.Sprintf("sockstat: option requires an argument -- %c\n", c))
				}
			}
			switch c {
			case '4':
				o.IPv4 = true
			case '6':
				o.IPv6 = true
			case 'C':
				o.CC = true
			case 'c':
				o.Connected = true
			case 'i':
				o.ID = true
			case 'j':
				o.NetNS = optarg
			case 'L':
				o.NoLoopback = true
			case 'l':
				o.Listening = true
			case 'n':
				o.Numeric = true
			case 'p':
				if err := parsePorts(&o, optarg); err != nil {
					return o, nil, err
				}
			case 'P':
				readProtocols()
				o.Protos = o.Protos[:0]
				for _, name := range strings.Split(optarg, ",") {
					if name == "" {
						continue
					}
					n, ok := Protocols[name]
					if !ok {
						warnings = append(warnings, fmt.Sprintf("sockstat: cap_getprotobyname: unknown protocol %s\n", name))
						continue
					}
					o.Protos = append(o.Protos, n)
				}
				protosDefined = len(o.Protos)
			case 'q':
				o.Quiet = true
			case 'S':
				o.Stack = true
			case 's':
				o.State = true
			case 'U':
				o.Encaps = true
			case 'u':
				o.Unix = true
			case 'v':
				o.Verbose++
			case 'w':
				o.Wide = true
			default:
				return o, nil, usageErr(fmt.Sprintf("sockstat: illegal option -- %c\n", c))
			}
			if needArg {
				continue parse
			}
		}
	}
	if i < len(args) {
		return o, nil, usageErr()
	}
	if !o.IPv4 && !o.IPv6 && protosDefined != -1 {
		o.IPv4, o.IPv6 = true, true
	}
	if !o.IPv4 && !o.IPv6 && !o.Unix {
		o.IPv4, o.IPv6, o.Unix = true, true, true
	}
	if (o.IPv4 || o.IPv6) && protosDefined == -1 {
		o.Protos = []int{ProtoSCTP, ProtoTCP, ProtoUDP, ProtoDivert}
	}
	if !o.Connected && !o.Listening {
		o.Connected, o.Listening = true, true
	}
	for _, p := range o.Protos {
		switch p {
		case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoDivert:
		default:
			if o.IPv4 || o.IPv6 {
				return o, warnings, &ArgError{Lines: []string{fmt.Sprintf("sockstat: protocol %d not supported\n", p)}}
			}
		}
	}
	return o, warnings, nil
}

// parsePorts reads "-p 22,80-90" the way sockstat's parse_ports does,
// including its error texts.
func parsePorts(o *Options, spec string) error {
	if o.Ports == nil {
		o.Ports = new([65536 / 64]uint64)
	}
	set := func(p int) { o.Ports[p/64] |= 1 << (p % 64) }
	bad := func(msg string) error { return &ArgError{Lines: []string{"sockstat: " + msg + "\n"}} }
	digit := func(i int) bool { return i < len(spec) && spec[i] >= '0' && spec[i] <= '9' }
	p := 0
	for p < len(spec) {
		if !digit(p) {
			return bad("syntax error in port range")
		}
		port := 0
		for ; digit(p); p++ {
			port = port*10 + int(spec[p]-'0')
			if port > 1<<20 {
				port = 1 << 20
			}
		}
		if port > 65535 {
			return bad("invalid port number")
		}
		set(port)
		if p >= len(spec) {
			break
		}
		switch spec[p] {
		case '-':
			p++
		case ',':
			p++
			continue
		default:
			continue
		}
		end := 0
		for ; digit(p); p++ {
			end = end*10 + int(spec[p]-'0')
			if end > 1<<20 {
				end = 1 << 20
			}
		}
		if end < port || end > 65535 {
			return bad("invalid port number")
		}
		for port < end {
			port++
			set(port)
		}
		if p < len(spec) && spec[p] == ',' {
			p++
		}
	}
	return nil
}

func (o *Options) portWanted(p uint16) bool {
	return o.Ports[p/64]&(1<<(p%64)) != 0
}
