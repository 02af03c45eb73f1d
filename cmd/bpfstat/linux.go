package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bpfstat/bpfstat/internal/getopt"
	"github.com/bpfstat/bpfstat/internal/names"
	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
	"github.com/spf13/cobra"
)

// netstat's option table, in net-tools' order: glibc reports ambiguous
// abbreviations in this order, and the first of equal matches wins.
var netstatLongs = []getopt.Long{
	{Name: "ax25", Val: 1}, {Name: "x25", Val: 1}, {Name: "ip", Val: 1}, {Name: "ipx", Val: 1},
	{Name: "appletalk", Val: 1}, {Name: "netrom", Val: 1}, {Name: "inet", Val: 1},
	{Name: "inet6", Val: 1}, {Name: "ddp", Val: 1}, {Name: "rose", Val: 1}, {Name: "unix", Val: 1},
	{Name: "bluetooth", Val: 1}, {Name: "tcpip", Val: 1},
	{Name: "version", Val: 'V'}, {Name: "interfaces", Val: 'i'}, {Name: "help", Val: 'h'},
	{Name: "route", Val: 'r'}, {Name: "masquerade", Val: 'M'},
	{Name: "protocol", HasArg: getopt.RequiredArgument, Val: 'A'},
	{Name: "tcp", Val: 't'}, {Name: "sctp", Val: 'S'}, {Name: "udp", Val: 'u'},
	{Name: "udplite", Val: 'U'}, {Name: "raw", Val: 'w'}, {Name: "unix", Val: 'x'},
	{Name: "l2cap", Val: '2'}, {Name: "rfcomm", Val: 'f'}, {Name: "listening", Val: 'l'},
	{Name: "all", Val: 'a'}, {Name: "timers", Val: 'o'}, {Name: "continuous", Val: 'c'},
	{Name: "extend", Val: 'e'}, {Name: "programs", Val: 'p'}, {Name: "verbose", Val: 'v'},
	{Name: "statistics", Val: 's'}, {Name: "wide", Val: 'W'}, {Name: "numeric", Val: 'n'},
	{Name: "numeric-hosts", Val: '!'}, {Name: "numeric-ports", Val: '@'},
	{Name: "numeric-users", Val: '#'}, {Name: "symbolic", Val: 'N'}, {Name: "cache", Val: 'C'},
	{Name: "fib", Val: 'F'}, {Name: "groups", Val: 'g'}, {Name: "context", Val: 'Z'},
}

const netstatShort = "A:CFMacdeghilnNoprsStuUvVWw2fx64?Z"

// aftrans is net-tools' family alias table (lib/af.c).
var aftrans = []struct{ alias, name string }{
	{"ax25", "ax25"}, {"ip", "inet"}, {"ip6", "inet6"}, {"ipx", "ipx"}, {"rose", "rose"},
	{"appletalk", "ddp"}, {"netrom", "netrom"}, {"inet", "inet"}, {"inet6", "inet6"},
	{"ddp", "ddp"}, {"unix", "unix"}, {"tcpip", "inet"}, {"econet", "ec"}, {"x25", "x25"},
	{"ash", "ash"}, {"bluetooth", "bluetooth"},
}

// linuxRun is one parsed netstat command line.
type linuxRun struct {
	f          nettools.Flags
	afname     string
	interfaces bool
	route      bool
	masquerade bool
	statistics bool
	cache, fib bool
	symbolic   bool
	// modeFlags counts -i, -r, -M and -s as net-tools' flag_int +
	// flag_rou + flag_mas + flag_sta do: more than one is a usage error,
	// so a repeated one (-ii, -rr) is too.
	modeFlags int
	// bpfstat's own options (exact long names only, so netstat's
	// abbreviation rules and diagnostics stay untouched).
	follow   followOptions
	doFollow bool
	query    socketQuery
}

// modeRequest is what the interface, statistics, route, masquerade and
// group views get from the parser.
type modeRequest struct {
	Flags      *nettools.Flags
	Afname     string // netstat's afname: "inet", "inet6", "inet,unix", ...
	Statistics bool
	Cache, FIB bool
	Symbolic   bool
}

// modes holds the non-listing views by name ("interfaces", "statistics",
// "route", "masquerade", "groups"); their files register them.
var modes = map[string]func(ctx context.Context, w, ew io.Writer, req *modeRequest) int{}

// aftransOpt is net-tools' aftrans_opt: it sets family flags and appends
// to afname; it returns false after printing an error.
func (l *linuxRun) aftransOpt(arg string, ew io.Writer) bool {
	if len(arg) > 255 {
		arg = arg[:255]
	}
	for _, a := range strings.Split(arg, ",") {
		found := false
		for _, t := range aftrans {
			if t.alias != a {
				continue
			}
			found = true
			if len(t.name)+len(l.afname)+1 >= 256 {
				fmt.Fprint(ew, "Too much address family arguments.\n")
				return true
			}
			// ddp, ec and ash only name the family: netstat lists none.
			if flag := map[string]*bool{
				"inet": &l.f.Inet, "inet6": &l.f.Inet6, "unix": &l.f.Unix, "ipx": &l.f.IPX,
				"ax25": &l.f.AX25, "x25": &l.f.X25, "netrom": &l.f.NetROM, "rose": &l.f.Rose,
				"bluetooth": &l.f.Bluetooth,
			}[t.name]; flag != nil {
				*flag = true
			}
			if l.afname != "" {
				l.afname += ","
			}
			l.afname += t.name
			break
		}
		if !found {
			fmt.Fprintf(ew, "Unknown address family `%s'.\n", a)
			return false
		}
	}
	return true
}

// extractOwn removes bpfstat's own long options from args.
func (l *linuxRun) extractOwn(args []string, ew io.Writer) ([]string, error) {
	var rest []string
	val := func(i *int, name string, a string) (string, error) {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("option --%s requires an argument", name)
		}
		*i++
		return args[*i], nil
	}
	is := func(a, name string) bool { return a == "--"+name || strings.HasPrefix(a, "--"+name+"=") }
	for i := 0; i < len(args); i++ {
		a := args[i]
		if takesNext(a) && i+1 < len(args) {
			// getopt gives the next word to -A whatever it looks like:
			// `-A --follow` is an unknown family to netstat.
			rest = append(rest, a, args[i+1])
			i++
			continue
		}
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		switch {
		case a == "--follow":
			l.doFollow = true
		case a == "--json":
			l.follow.JSON = true
		case a == "--all-netns":
			l.query.AllNetns = true
		case a == "--fresh":
			l.query.Fresh = true
		case is(a, "style"):
			if _, err := val(&i, "style", a); err != nil {
				return nil, err
			}
		case is(a, "source"):
			v, err := val(&i, "source", a)
			if err != nil {
				return nil, err
			}
			switch v {
			case "auto", "daemon", "snapshot":
				l.query.Source = v
			default:
				return nil, fmt.Errorf("invalid --source %q: want auto, daemon or snapshot", v)
			}
		case is(a, "socket"):
			v, err := val(&i, "socket", a)
			if err != nil {
				return nil, err
			}
			l.query.Socket = v
		case is(a, "port"):
			v, err := val(&i, "port", a)
			if err != nil {
				return nil, err
			}
			for _, p := range strings.Split(v, ",") {
				n, err := strconv.ParseUint(p, 10, 16)
				if err != nil {
					return nil, fmt.Errorf("invalid --port %q: want a port number 0-65535", p)
				}
				l.follow.Ports = append(l.follow.Ports, uint16(n))
			}
		case is(a, "pid"):
			v, err := val(&i, "pid", a)
			if err != nil {
				return nil, err
			}
			for _, p := range strings.Split(v, ",") {
				n, err := strconv.ParseInt(p, 10, 32)
				if err != nil || n <= 0 {
					return nil, fmt.Errorf("invalid --pid %q: want a process id", p)
				}
				l.follow.PIDs = append(l.follow.PIDs, int32(n))
			}
		case is(a, "state"):
			v, err := val(&i, "state", a)
			if err != nil {
				return nil, err
			}
			for _, p := range strings.Split(v, ",") {
				st, ok := sock.ParseState(strings.ToUpper(p))
				if !ok {
					return nil, fmt.Errorf("invalid --state %q: want a netstat state name such as ESTABLISHED or LISTEN", p)
				}
				l.follow.States = append(l.follow.States, st)
			}
		default:
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// takesNext reports whether netstat's getopt takes the word after a as
// a's option argument: -A, a cluster ending in its first A (-tA), or
// --protocol (or an abbreviation glibc takes for it) without "=".
func takesNext(a string) bool {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		return len(name) >= len("prot") && strings.HasPrefix("protocol", name)
	}
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	return strings.IndexByte(a[1:], 'A') == len(a)-2
}

func runLinux(cmd *cobra.Command, args []string) error {
	w, ew := cmd.OutOrStdout(), cmd.ErrOrStderr()
	prog := progName
	l := &linuxRun{f: nettools.Flags{Extend: 1, EUID: os.Geteuid()}, query: socketQuery{Source: "auto"}}
	args, err := l.extractOwn(args, ew)
	if err != nil {
		fmt.Fprintf(ew, "%s: %v\n", prog, err)
		return exitError(2)
	}
	usage := func(rc int) error {
		if rc == 0 {
			nettools.Usage(w, ew)
		} else {
			nettools.Usage(ew, ew)
		}
		return exitError(rc)
	}
	p := getopt.New(prog, netstatShort, netstatLongs, args, ew)
	f := &l.f
	for {
		o := p.Next()
		if o.Val == 0 {
			break
		}
		switch o.Val {
		case 1:
			if o.LongIdx >= 12 { // AFTRANS_CNT: net-tools forgot --tcpip
				fmt.Fprint(ew, "netstat.c: Internal Error `longopts 1 range'.\n")
				break
			}
			if !l.aftransOpt(netstatLongs[o.LongIdx].Name, ew) {
				return exitError(1)
			}
		case 'A':
			if !l.aftransOpt(o.Arg, ew) {
				return exitError(1)
			}
		case 'M':
			l.masquerade = true
			l.modeFlags++
		case 'a':
			f.All = true
		case 'l':
			f.Listening = true
		case 'c':
			f.Continuous = true
		case 'd', 'N':
			l.symbolic = l.symbolic || o.Val == 'N'
		case 'g':
			f.Groups = true
		case 'e':
			f.Extend++
		case 'p':
			f.Programs = true
		case 'i':
			l.interfaces = true
			l.modeFlags++
		case 'W':
			f.Wide = true
		case 'n':
			f.NumHosts, f.NumPorts, f.NumUsers = true, true, true
		case '!':
			f.NumHosts = true
		case '@':
			f.NumPorts = true
		case '#':
			f.NumUsers = true
		case 'C':
			l.cache = true
		case 'F':
			l.fib = true
		case 'o':
			f.Timers = true
		case '6':
			l.aftransOpt("inet6", ew)
		case '4':
			l.aftransOpt("inet", ew)
		case 'V':
			fmt.Fprintf(w, "bpfstat %s (net-tools netstat 2.10 compatible)\n", version)
			return nil
		case 'v':
			f.Verbose = true
		case 'r':
			l.route = true
			l.modeFlags++
		case 't':
			f.TCP = true
		case 'S':
			f.SCTP = true
		case 'u':
			f.UDP = true
		case 'U':
			f.UDPLite = true
		case 'w':
			f.Raw = true
		case '2':
			f.L2CAP = true
		case 'f':
			f.RFCOMM = true
		case 'x':
			l.aftransOpt("unix", ew)
		case 'Z':
			fmt.Fprint(ew, "SELinux is not enabled on this machine.\n")
			return exitError(1)
		case '?':
			return usage(3)
		case 'h':
			return usage(0)
		case 's':
			l.statistics = true
			l.modeFlags++
		}
	}
	if l.modeFlags > 1 {
		return usage(3)
	}
	f.Normalize(l.statistics)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks for a clean end (--follow writes what it
	// still holds); a second one kills, as if none were caught.
	context.AfterFunc(ctx, stop)
	if l.doFollow {
		l.follow.TCP, l.follow.UDP, l.follow.Raw = f.TCP && !f.NoProt, f.UDP && !f.NoProt, f.Raw && !f.NoProt
		l.follow.Unix = f.Unix
		l.follow.Inet4, l.follow.Inet6 = f.Inet && l.afname != "", f.Inet6 && l.afname != ""
		if err := runFollow(ctx, w, ew, l.follow); err != nil {
			return err
		}
		return nil
	}
	req := &modeRequest{Flags: f, Afname: l.afname, Statistics: l.statistics, Cache: l.cache, FIB: l.fib, Symbolic: l.symbolic}
	mode := ""
	switch {
	case l.masquerade:
		mode = "masquerade"
	case l.statistics:
		mode = "statistics"
	case l.route:
		mode = "route"
	case l.interfaces:
		mode = "interfaces"
	}
	if mode != "" {
		run, ok := modes[mode]
		if !ok {
			return fmt.Errorf("netstat --%s: not implemented yet", mode)
		}
		return status(run(ctx, w, ew, req))
	}
	return status(l.listings(ctx, w, ew, req))
}

func status(rc int) error {
	if rc == 0 {
		return nil
	}
	return exitError(rc & 0xff)
}

// listings runs netstat's socket listing, once or every second with -c.
func (l *linuxRun) listings(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
	// A listing allocates a few hundred bytes per socket and exits (or
	// sleeps, with -c): garbage is collected only past a memory limit
	// (a million sockets' worth). A collector scanning the socket slice
	// while the dump fills it also maps zero pages that the next write
	// must replace, each with a TLB flush on every CPU running us.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	f := &l.f
	protos, fams := f.Wants()
	q := l.query
	q.Protos, q.Families, q.Owners = protos, fams, f.Programs
	resolver := names.NewResolver()
	if fixtureRoot != "" {
		// Fixtures name hosts from their own /etc/hosts, never from DNS.
		resolver = &names.Resolver{Root: fixtureRoot}
		q.Source = "snapshot"
	}
	var groups func() int
	if f.Groups {
		if g, ok := modes["groups"]; ok {
			groups = func() int { return g(ctx, w, ew, req) }
		}
	}
	for {
		// A numeric listing is rendered by the daemon when one runs.
		if rc, ok, err := daemonListing(w, ew, f, q); err != nil {
			fmt.Fprintf(ew, "%s: %v\n", progName, err)
			return 1
		} else if ok {
			if rc != 0 || !f.Continuous {
				return rc
			}
		} else {
			res, err := loadSockets(q)
			if err != nil {
				fmt.Fprintf(ew, "%s: %v\n", progName, err)
				return 1
			}
			if rc := nettools.Listing(w, ew, f, &res, resolver, groups); rc != 0 || !f.Continuous {
				return rc
			}
		}
		// -c: the round's garbage goes now, while we sleep anyway.
		runtime.GC()
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Second):
		}
	}
}

// fixtureRoot, from $BPFSTAT_ROOT, points snapshots and name look-ups at
// a directory tree instead of / (like ss's PROC_ROOT): tests render
// captured /proc and /etc files through the real command line.
var fixtureRoot = os.Getenv("BPFSTAT_ROOT")

// snapshotSockets takes a one-shot snapshot of the caller's namespace.
func snapshotSockets(q socketQuery) (snapshot.Result, error) {
	// Fast reads the same tables through sock_diag (and /proc where it
	// must), byte-identical once rendered; fixtures go through /proc.
	return snapshot.Fast(snapshot.Options{Root: fixtureRoot, Protos: q.Protos, Families: q.Families, Owners: q.Owners})
}
