// Package fuser answers psmisc fuser's questions about sockets from
// bpfstat's socket table: which processes use PORT/tcp, PORT/udp, the
// [lport][,[rhost][,[rport]]] forms and unix socket paths, printed exactly
// as psmisc fuser prints them (pids on stdout, names, access letters and
// the -v table on stderr) with its exit statuses.
//
// Everything outside the process (the socket table, name resolution,
// signals, the terminal) comes in through Env, so the whole command is
// testable on fixtures.
package fuser

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"strings"
)

// Namespace is where a name is looked up: psmisc's file, tcp or udp.
type Namespace uint8

const (
	NSFile Namespace = iota
	NSTCP
	NSUDP
)

// Config is a parsed command line.
type Config struct {
	All, Kill, Interactive, Silent, User, Verbose, WriteOnly bool
	Mounts, IsMountpoint                                     bool
	IPv4Only, IPv6Only                                       bool
	Signal                                                   int
	Names                                                    []*Name

	scan bool // walk /proc even if no name is left (see -M)
}

// Name is one NAME argument.
type Name struct {
	// Text is the name as fuser prints it: "80/tcp" for "80/tcp" and for
	// "-n tcp 80".
	Text  string
	Space Namespace
	// Conns4 and Conns6 are the connection patterns of a network name.
	Conns4, Conns6 []Conn
	// File is the path of a file name as given, ID its identity when
	// it could be stat'ed.
	File string
	ID   *FileID
	// Bad is set when the name could not be parsed (an error was printed).
	Bad bool
}

// Conn is one connection pattern: zero ports and an invalid address
// match anything.
type Conn struct {
	LPort, RPort uint16
	RAddr        netip.Addr
}

// usageText is psmisc 23.6's usage, including the IPv6 lines of a
// WITH_IPV6 build.
const usageText = `Usage: fuser [-fIMuvw] [-a|-s] [-4|-6] [-c|-m|-n SPACE]
             [-k [-i] [-SIGNAL]] NAME...
       fuser -l
       fuser -V
Show which processes use the named files, sockets, or filesystems.

  -a,--all              display unused files too
  -i,--interactive      ask before killing (ignored without -k)
  -I,--inode            use always inodes to compare files
  -k,--kill             kill processes accessing the named file
  -l,--list-signals     list available signal names
  -m,--mount            show all processes using the named filesystems or
                        block device
  -M,--ismountpoint     fulfill request only if NAME is a mount point
  -n,--namespace SPACE  search in this name space (file, udp, or tcp)
  -s,--silent           silent operation
  -SIGNAL               send this signal instead of SIGKILL
  -u,--user             display user IDs
  -v,--verbose          verbose output
  -w,--writeonly        kill only processes with write access
  -V,--version          display version information
  -4,--ipv4             search IPv4 sockets only
  -6,--ipv6             search IPv6 sockets only
  udp/tcp names: [local_port][,[rmt_host][,[rmt_port]]]

`

// exit ends parsing early: the text was printed, the status is final.
type exit int

var longOptions = []struct {
	name string
	opt  byte
}{
	{"all", 'a'}, {"kill", 'k'}, {"interactive", 'i'}, {"inode", 'I'},
	{"list-signals", 'l'}, {"mount", 'm'}, {"ismountpoint", 'M'},
	{"namespace", 'n'}, {"silent", 's'}, {"user", 'u'}, {"verbose", 'v'},
	{"writeonly", 'w'}, {"version", 'V'}, {"ipv4", '4'}, {"ipv6", '6'},
}

func usage(w io.Writer, msg string) exit {
	if msg != "" {
		fmt.Fprintf(w, "%s\n", msg)
	}
	io.WriteString(w, usageText)
	return exit(1)
}

// parse walks the arguments the way psmisc's hand-written parser does:
// options and names interleave, each name is parsed with the options seen
// so far, "--" ends everything, and any upper-case letter or digit starts
// a -SIGNAL that takes the rest of the argument. Messages psmisc prints
// while parsing go to env.Stderr as they happen.
func parse(env *Env, args []string) (*Config, exit, bool) {
	cfg := &Config{Signal: sigKill}
	ns := NSFile
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if strings.HasPrefix(arg, "-") {
			opt := arg
			if strings.HasPrefix(arg, "--") {
				if arg == "--" {
					break
				}
				found := false
				for _, lo := range longOptions {
					if arg[2:] == lo.name {
						opt = "-" + string(lo.opt)
						found = true
						break
					}
				}
				if !found {
					fmt.Fprintf(env.Stderr, "%s: Invalid option %s\n", env.Argv0, arg)
					return nil, usage(env.Stderr, ""), true
				}
			}
			for j := 1; j < len(opt); j++ {
				skip := false
				switch c := opt[j]; c {
				case '4':
					cfg.IPv4Only = true
				case '6':
					cfg.IPv6Only = true
				case 'a':
					cfg.All = true
				case 'c', 'm':
					cfg.Mounts = true
				case 'f':
				case 'h':
					return nil, usage(env.Stderr, ""), true
				case 'i':
					cfg.Interactive = true
				case 'I':
				case 'k':
					cfg.Kill = true
				case 'l':
					listSignals(env.Stdout)
					return nil, 0, true
				case 'M':
					cfg.IsMountpoint = true
				case 'n':
					i++
					if i >= len(args) {
						return nil, usage(env.Stderr, "Namespace option requires an argument."), true
					}
					skip = true
					switch args[i] {
					case "tcp":
						ns = NSTCP
					case "udp":
						ns = NSUDP
					case "file":
						ns = NSFile
					default:
						return nil, usage(env.Stderr, "Invalid namespace name"), true
					}
				case 's':
					cfg.Silent = true
				case 'u':
					cfg.User = true
				case 'v':
					cfg.Verbose = true
				case 'w':
					cfg.WriteOnly = true
				case 'V':
					printVersion(env)
					return nil, 0, true
				default:
					if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
						sig, ok := getSignal(arg[1:])
						if !ok {
							name := strings.TrimPrefix(arg[1:], "SIG")
							fmt.Fprintf(env.Stderr, "%s: unknown signal; %s -l lists signals.\n", name, env.Argv0)
							return nil, exit(1), true
						}
						cfg.Signal = sig
						skip = true
						break
					}
					fmt.Fprintf(env.Stderr, "%s: Invalid option %c\n", env.Argv0, c)
					return nil, usage(env.Stderr, ""), true
				}
				if skip {
					break
				}
			}
			continue
		}
		n := &Name{Space: ns}
		if k := strings.IndexByte(arg, '/'); k > 0 {
			switch arg[k+1:] {
			case "tcp":
				n.Space, arg = NSTCP, arg[:k]
			case "udp":
				n.Space, arg = NSUDP, arg[:k]
			case "file":
				n.Space, arg = NSFile, arg[:k]
			}
		}
		if (cfg.Mounts || cfg.IsMountpoint) && n.Space != NSFile {
			return nil, usage(env.Stderr, "You can only use files with mountpoint options"), true
		}
		switch n.Space {
		case NSTCP:
			n.Text = arg + "/tcp"
			parseInet(env, n, cfg.IPv4Only, cfg.IPv6Only)
		case NSUDP:
			n.Text = arg + "/udp"
			parseInet(env, n, cfg.IPv4Only, cfg.IPv6Only)
		default:
			n.Text, n.File = arg, arg
			statName(env, n)
		}
		cfg.Names = append(cfg.Names, n)
	}
	if len(cfg.Names) == 0 {
		return nil, usage(env.Stderr, "No process specification given"), true
	}
	return cfg, 0, false
}

// parseInet splits "[lport][,[rhost][,[rport]]]" and resolves it as
// psmisc does with getaddrinfo. A local port that does not resolve is
// reported; a remote part that does not resolve silently matches nothing.
func parseInet(env *Env, n *Name, v4only, v6only bool) {
	fam := FamilyAny
	if v6only {
		fam = Family6
	} else if v4only {
		fam = Family4
	}
	k := strings.IndexByte(n.Text, '/')
	proto := n.Text[k+1:]
	host := n.Text[:k]
	if len(host) > 99 {
		host = host[:99]
	}
	stream := proto == "tcp"

	var lportStr, raddrStr, rportStr *string
	str := func(s string) *string { return &s }
	if c := strings.IndexByte(host, ','); c < 0 {
		lportStr = str(host)
	} else {
		if c > 0 {
			lportStr = str(host[:c])
		}
		rest := host[c+1:]
		if rest != "" {
			if c2 := strings.IndexByte(rest, ','); c2 < 0 {
				raddrStr = str(rest)
			} else {
				if c2 > 0 {
					raddrStr = str(rest[:c2])
				}
				if rest[c2+1:] != "" {
					rportStr = str(rest[c2+1:])
				}
			}
		}
	}
	var lport uint16
	if lportStr != nil {
		p, err := env.Resolver.Service(*lportStr, stream)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Cannot resolve local port %s: %s\n", *lportStr, err)
			n.Bad = true
			return
		}
		lport = p
	}
	if raddrStr == nil && rportStr == nil {
		n.Conns4 = append(n.Conns4, Conn{LPort: lport})
		n.Conns6 = append(n.Conns6, Conn{LPort: lport})
		return
	}
	h, p := "", ""
	if raddrStr != nil {
		h = *raddrStr
	}
	if rportStr != nil {
		p = *rportStr
	}
	addrs, err := env.Resolver.Remote(h, raddrStr != nil, p, rportStr != nil, fam, stream)
	if err != nil {
		n.Bad = true
		return
	}
	for _, ap := range addrs {
		c := Conn{LPort: lport, RPort: ap.Port()}
		if raddrStr != nil {
			c.RAddr = ap.Addr()
		}
		if ap.Addr().Is4() {
			n.Conns4 = append(n.Conns4, c)
		} else {
			n.Conns6 = append(n.Conns6, c)
		}
	}
}

// statName resolves a file name as psmisc's parse_file does, printing its
// errors at parse time.
func statName(env *Env, n *Name) {
	if env.Stat == nil {
		return
	}
	path, id, err := env.Stat(n.File)
	n.Text = path
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(env.Stderr, "Specified filename %s does not exist.\n", path)
		} else {
			fmt.Fprintf(env.Stderr, "Cannot stat %s: %s\n", path, errText(err))
		}
		return
	}
	n.ID = &id
}
