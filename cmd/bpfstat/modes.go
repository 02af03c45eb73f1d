package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bpfstat/bpfstat/internal/names"
	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/snapshot"
)

// modeOptions is what netstat's -i, -s, -r, -g, -M and -Z views need from
// the command line, with netstat's own derivations (see modeOptionsFrom).
type modeOptions struct {
	Ctx context.Context

	NumericHosts, NumericPorts, NumericUsers bool
	Symbolic                                 bool // -N: -r prints numerically
	Extend                                   int  // netstat's flag_exp: 1 + the number of -e
	Verbose, Wide, All                       bool
	// Afname is netstat's afname: the families of -4/-6/-A/--inet...
	// joined by commas in command-line order, "" when none was given.
	Afname                       string
	Inet, Inet6                  bool
	TCP, UDP, UDPLite, Raw, SCTP bool
	NoProt                       bool // flag_noprot: protocols implied by a family
	Arg                          int  // flag_arg
	Cache, FIB                   bool
	Continuous                   bool

	// Root prefixes every /proc path (fixtures); "" is "/".
	Root string
	// Interval between -c rounds; 0 is netstat's one second.
	Interval time.Duration
	// Rounds stops -c after that many rounds (tests); 0 runs until the
	// context ends.
	Rounds int
	// Names answers reverse look-ups; nil uses /etc/hosts, DNS and
	// /etc/networks.
	Names nettools.RouteNames

	namer *nettools.RouteNamer
	mcast *snapshot.McastParser
}

func modeOptionsFrom(ctx context.Context, req *modeRequest) *modeOptions {
	f := req.Flags
	return &modeOptions{
		Ctx:          ctx,
		NumericHosts: f.NumHosts, NumericPorts: f.NumPorts, NumericUsers: f.NumUsers,
		Symbolic: req.Symbolic, Extend: f.Extend, Verbose: f.Verbose, Wide: f.Wide, All: f.All,
		Afname: req.Afname, Inet: f.Inet, Inet6: f.Inet6,
		TCP: f.TCP, UDP: f.UDP, UDPLite: f.UDPLite, Raw: f.Raw, SCTP: f.SCTP,
		NoProt: f.NoProt, Arg: f.Arg, Cache: req.Cache, FIB: req.FIB, Continuous: f.Continuous,
	}
}

// groupRuns keeps one option set (and so one igmp parser state) per
// command line across the listing's -c rounds.
var groupRuns sync.Map // *modeRequest -> *modeOptions

func init() {
	modes["interfaces"] = func(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
		return runInterfaces(w, ew, modeOptionsFrom(ctx, req))
	}
	modes["statistics"] = func(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
		return runStatistics(w, ew, modeOptionsFrom(ctx, req))
	}
	modes["route"] = func(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
		return runRoute(w, ew, modeOptionsFrom(ctx, req))
	}
	modes["masquerade"] = func(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
		return runMasquerade(w, ew, modeOptionsFrom(ctx, req))
	}
	modes["context"] = func(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
		return runContext(w, ew, modeOptionsFrom(ctx, req))
	}
	modes["groups"] = func(ctx context.Context, w, ew io.Writer, req *modeRequest) int {
		o, _ := groupRuns.LoadOrStore(req, modeOptionsFrom(ctx, req))
		return runGroups(w, ew, o.(*modeOptions))
	}
}

func (o *modeOptions) path(p string) string {
	if o.Root == "" {
		return p
	}
	return filepath.Join(o.Root, p)
}

func (o *modeOptions) open(p string) (*os.File, error) { return os.Open(o.path(p)) }

func (o *modeOptions) routeNamer() *nettools.RouteNamer {
	if o.namer == nil {
		n := o.Names
		if n == nil {
			n = &systemNames{res: names.NewResolver()}
		}
		o.namer = nettools.NewRouteNamer(n)
	}
	return o.namer
}

// modeStdout buffers w as stdio buffers netstat's stdout: line by line
// on a terminal (our lines are written whole, so unbuffered is the
// same), in 4096-byte blocks otherwise, so that with 2>&1 the
// diagnostics land where netstat's do.
type modeStdout struct {
	b   *bufio.Writer
	tty bool
}

func newModeStdout(w io.Writer) modeStdout {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return modeStdout{b: bufio.NewWriterSize(w, 4096), tty: tty}
}

func (m modeStdout) Write(p []byte) (int, error) {
	n, err := m.b.Write(p)
	if m.tty && err == nil {
		err = m.b.Flush()
	}
	return n, err
}

// Flush writes out what is buffered.
func (m modeStdout) Flush() error { return m.b.Flush() }

// wait is netstat's wait_continous between -c rounds; it reports false
// when the run should end (interrupted, or the test's round count met).
func (o *modeOptions) wait(round int, out modeStdout) bool {
	out.Flush()
	if o.Rounds > 0 && round >= o.Rounds {
		return false
	}
	ctx := o.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	d := o.Interval
	if d == 0 {
		d = time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// systemNames is glibc's view: hosts from /etc/hosts then DNS, networks
// from /etc/networks.
type systemNames struct {
	res  *names.Resolver
	once sync.Once
	nets map[uint32]string
}

func (s *systemNames) Host(a netip.Addr) string { return s.res.Host(a) }

func (s *systemNames) Network(n uint32) string {
	s.once.Do(func() {
		s.nets = map[uint32]string{}
		if f, err := os.Open("/etc/networks"); err == nil {
			s.nets = snapshot.ParseNetworks(f)
			f.Close()
		}
	})
	return s.nets[n]
}

// runInterfaces is netstat -i [-e] [-a] [-c].
func runInterfaces(w0, ew io.Writer, o *modeOptions) int {
	out := newModeStdout(w0)
	defer out.Flush()
	w := out
	long := o.Extend >= 2
	for round := 1; ; round++ {
		snap, err := snapshot.Interfaces(o.Root)
		if err != nil && snap.ProcErr == nil && snap.ConfErr == nil {
			nettools.Perror(ew, "socket", err)
			return 1
		}
		nettools.IfaceHeader(w, round == 1, long)
		if snap.ProcErr != nil {
			fmt.Fprintf(ew, "Warning: cannot open %s (%s). Limited output.\n", "/proc/net/dev", nettools.Strerror(snap.ProcErr))
		}
		if snap.ConfErr != nil {
			nettools.Perror(ew, "SIOCGIFCONF", snap.ConfErr)
		}
		if err != nil {
			nettools.Perror(ew, "missing interface information", snap.ConfErr)
			return 1
		}
		for i := range snap.Interfaces {
			it := &snap.Interfaces[i]
			if it.FetchErr != nil {
				nettools.IfaceFetchError(ew, it)
				nettools.Perror(ew, "missing interface information", it.FetchErr)
				return 1
			}
			if it.Flags&1 == 0 && !o.All {
				continue
			}
			if long {
				nettools.IfaceLong(w, it, snap.Addrs6)
			} else {
				nettools.IfaceShort(w, it)
			}
		}
		if !o.Continuous || !o.wait(round, out) {
			return 0
		}
	}
}

// runStatistics is netstat -s: it never repeats, even with -c.
func runStatistics(w0, ew io.Writer, o *modeOptions) int {
	w := newModeStdout(w0)
	defer w.Flush()
	af := o.Afname
	if af == "" {
		af = "inet"
	}
	f := nettools.StatsProtocols{Raw: o.Raw, TCP: o.TCP, UDP: o.UDP, SCTP: o.SCTP}
	if !(o.TCP || o.SCTP || o.UDP || o.UDPLite || o.Raw) {
		f = nettools.StatsProtocols{Raw: true, TCP: true, UDP: true, SCTP: true}
	}
	p := nettools.NewStatsPrinter(w)
	switch af {
	case "inet":
		fh, err := o.open("/proc/net/snmp")
		if err != nil {
			nettools.Perror(ew, "cannot open /proc/net/snmp", err)
			return 0
		}
		secs, perr := snapshot.ParseSNMP(fh)
		fh.Close()
		p.SNMP(secs, f, "")
		if errors.Is(perr, snapshot.ErrStatsFormat) {
			fmt.Fprint(ew, "Problem while parsing /proc/net/snmp\n")
		}
		if fh, err := o.open("/proc/net/netstat"); err == nil {
			secs, perr := snapshot.ParseSNMP(fh)
			fh.Close()
			p.SNMP(secs, f, "")
			if errors.Is(perr, snapshot.ErrStatsFormat) {
				fmt.Fprint(ew, "Problem while parsing /proc/net/netstat\n")
			}
		}
		if fh, err := o.open("/proc/net/sctp/snmp"); err == nil {
			cs, _ := snapshot.ParseSCTPSNMP(fh)
			fh.Close()
			p.SCTP(cs, f)
		}
	case "inet6":
		fh, err := o.open("/proc/net/snmp6")
		if err != nil {
			nettools.Perror(ew, "cannot open /proc/net/snmp6", err)
			return 0
		}
		cs, _ := snapshot.ParseSNMP6(fh)
		fh.Close()
		p.SNMP6(cs, f)
		fh, err = o.open("/proc/net/snmp")
		if err != nil {
			nettools.Perror(ew, "cannot open /proc/net/snmp", err)
			return 0
		}
		secs, _ := snapshot.ParseSNMP(fh)
		fh.Close()
		p.SNMP(secs, f, "Tcp")
	default:
		fmt.Fprintf(w, "netstat: No statistics support for specified address family: %s\n", af)
		return 1
	}
	return 0
}

// routeOptions applies netstat -r's rules: the -e count is swapped (no -e
// shows MSS/Window/irtt, one -e Metric/Ref/Use, two both) and masked with
// FLAG_EXT, so four -e print no rows at all; -n, --numeric-hosts and -N
// all print numerically; the FIB is shown unless -C alone was given.
func (o *modeOptions) routeOptions() (nettools.RouteOptions, bool, bool) {
	e := o.Extend
	if e == 2 {
		e = 1
	} else if e == 1 {
		e = 2
	}
	fib, cache := o.FIB, o.Cache
	if !fib && !cache {
		fib = true
	}
	return nettools.RouteOptions{Ext: e & 3, Numeric: o.NumericHosts || o.Symbolic}, fib, cache
}

// runRoute is netstat -r.
func runRoute(w0, ew io.Writer, o *modeOptions) int {
	out := newModeStdout(w0)
	defer out.Flush()
	w := out
	af := o.Afname
	if af == "" {
		af = "inet"
	}
	for round := 1; ; round++ {
		rc := o.routeInfo(w, ew, af)
		if rc != 0 || !o.Continuous || !o.wait(round, out) {
			return rc
		}
	}
}

// routeFamilies are the families net-tools knows (get_aftype) and
// whether they print routes.
var routeFamilies = map[string]bool{
	"unix": false, "inet": true, "inet6": true, "ax25": true, "netrom": true, "ipx": true,
	"ddp": true, "ec": false, "x25": true, "rose": true, "ash": false,
}

// routeInfo is net-tools' route_info: each family in afname in turn.
func (o *modeOptions) routeInfo(w, ew io.Writer, afname string) int {
	rc := 8 // E_NOTFOUND
	for _, af := range strings.Split(afname, ",") {
		if af == "" {
			continue
		}
		routes, known := routeFamilies[af]
		if !known {
			fmt.Fprintf(ew, "Address family `%s' not supported.\n", af)
			return 3
		}
		if !routes {
			fmt.Fprintf(ew, "No routing for address family `%s'.\n", af)
			return 3
		}
		rc = 0
		var r int
		switch af {
		case "inet":
			r = o.routeInet(w, ew)
		case "inet6":
			r = o.routeInet6(w, ew)
		default:
			r = o.routeOther(w, ew, af)
		}
		if r != 0 {
			return r
		}
	}
	return rc
}

func (o *modeOptions) routeInet(w, ew io.Writer) int {
	ro, fib, cache := o.routeOptions()
	n := o.routeNamer()
	rc := 2 // E_INTERN
	if fib {
		f, err := o.open("/proc/net/route")
		if err != nil {
			nettools.Perror(ew, "/proc/net/route", err)
			fmt.Fprint(w, "INET (IPv4) not configured in this system.\n")
			return 1
		}
		nettools.RouteHeader4(w, ro)
		rs, perr := snapshot.ParseRoute(f)
		f.Close()
		var fe *snapshot.RouteFieldError
		if errors.As(perr, &fe) {
			fmt.Fprintf(ew, "warning: %s does not contain required field %s\n", "/proc/net/route", fe.Field)
			return 1
		}
		if errors.Is(perr, snapshot.ErrNoHeader) {
			return 1
		}
		nettools.Routes4(w, n, rs, ro)
		rc = 0
	}
	if cache {
		f, err := o.open("/proc/net/rt_cache")
		if err != nil {
			nettools.Perror(ew, "/proc/net/rt_cache", err)
			fmt.Fprint(w, "INET (IPv4) not configured in this system.\n")
			return 1
		}
		format, rs, perr := snapshot.ParseRouteCache(f)
		f.Close()
		if format < 0 {
			fmt.Fprint(w, "Kernel IP routing cache\n")
			nettools.Perror(ew, "/proc/net/rt_cache", perr)
			return 255
		}
		nettools.RouteCache4(w, n, format, rs, ro)
		rc = 0
	}
	return rc
}

func (o *modeOptions) routeInet6(w, ew io.Writer) int {
	ro, fib, cache := o.routeOptions()
	n := o.routeNamer()
	rc := 2
	table := func(cache bool) int {
		f, err := o.open("/proc/net/ipv6_route")
		if err != nil {
			nettools.Perror(ew, "/proc/net/ipv6_route", err)
			fmt.Fprint(w, "INET6 (IPv6) not configured in this system.\n")
			return 1
		}
		rs, _ := snapshot.ParseRoute6(f)
		f.Close()
		nettools.RouteHeader6(w, cache)
		nettools.Routes6(w, n, rs, ro, cache)
		return 0
	}
	if fib {
		if rc = table(false); rc != 0 {
			return rc
		}
	}
	if cache {
		// Without /proc/net/ndisc (gone since Linux 2.2) net-tools shows
		// the cache entries of the routing table.
		if rc = table(true); rc != 0 {
			return rc
		}
	}
	return rc
}

// routeOther prints what net-tools prints for the families whose /proc
// routing files this kernel lacks.
func (o *modeOptions) routeOther(w, ew io.Writer, af string) int {
	exists := func(p string) error {
		_, err := os.Stat(o.path(p))
		return err
	}
	missing := func(err error) bool { return errors.Is(err, fs.ErrNotExist) }
	switch af {
	case "ax25":
		if err := exists("/proc/net/ax25_route"); missing(err) {
			nettools.Perror(ew, "/proc/net/ax25_route", err)
			fmt.Fprint(w, "AX.25 not configured in this system.\n")
			return 1
		}
	case "netrom":
		e1, e2 := exists("/proc/net/nr_nodes"), exists("/proc/net/nr_neigh")
		if missing(e1) || missing(e2) {
			if e1 != nil {
				nettools.Perror(ew, "/proc/net/nr_nodes", e1)
			}
			if e2 != nil {
				// perror's own bookkeeping leaves EINVAL in errno.
				fmt.Fprint(ew, "/proc/net/nr_neigh: Invalid argument\n")
			}
			fmt.Fprint(w, "NET/ROM not configured in this system.\n")
			return 1
		}
	case "ipx":
		e1, e2 := exists("/proc/net/ipx/route"), exists("/proc/net/ipx_route")
		if missing(e1) && missing(e2) {
			nettools.Perror(ew, "", e2)
			fmt.Fprint(w, "IPX routing not in file /proc/net/ipx/route or /proc/net/ipx_route found.\n")
			return 1
		}
	case "ddp":
		if err := exists("/proc/net/atalk_route"); missing(err) {
			nettools.Perror(ew, "Error opening /proc/net/atalk_route", err)
			fmt.Fprint(ew, "DDP (AppleTalk) not configured on this system.\n")
			return 1
		}
	case "x25":
		if missing(exists("/proc/net/x25/route")) && missing(exists("/proc/net/x25_routes")) {
			fmt.Fprint(w, "X.25 not configured in this system.\n")
			return 1
		}
	case "rose":
		if err := exists("/proc/net/rose_nodes"); missing(err) {
			nettools.Perror(ew, "/proc/net/rose_nodes", err)
			fmt.Fprint(ew, "ROSE not configured in this system.\n")
			return 1
		}
	}
	fmt.Fprintf(ew, "%s: %s routing tables are not supported\n", progName, af)
	return 1
}

// runGroups prints one round of netstat -g's membership rows; the socket
// listing prints the title and loops.
func runGroups(w0, ew io.Writer, o *modeOptions) int {
	w := newModeStdout(w0)
	defer w.Flush()
	if o.mcast == nil {
		o.mcast = &snapshot.McastParser{}
	}
	n := o.routeNamer()
	rc := 0
	if o.Arg == 0 || o.Inet {
		f, err := o.open("/proc/net/igmp")
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
				nettools.Perror(ew, "/proc/net/igmp", err)
				return -1 & 0xff
			}
			if !o.NoProt && (o.Arg != 0 || o.Verbose) {
				fmt.Fprint(ew, "netstat: no support for `AF INET (igmp)' on this system.\n")
			}
			if !o.NoProt && o.Arg != 0 {
				rc = 1
			}
		} else {
			items, _ := o.mcast.Parse(f)
			f.Close()
			nettools.McastRows(w, ew, n, items, o.NumericHosts)
		}
	}
	if o.Arg == 0 || o.Inet6 {
		if f, err := o.open("/proc/net/igmp6"); err == nil {
			items, _ := o.mcast.Parse(f)
			f.Close()
			nettools.McastRows(w, ew, n, items, o.NumericHosts)
		}
	}
	return rc
}

// runMasquerade is netstat -M: kernels since 2.4 have no
// /proc/net/ip_masquerade.
func runMasquerade(w, ew io.Writer, o *modeOptions) int {
	_, err := os.Stat(o.path("/proc/net/ip_masquerade"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprint(ew, "netstat: no support for `ip_masquerade' on this system.\n")
		return 1
	case err != nil:
		nettools.Perror(ew, "/proc/net/ip_masquerade", err)
		return 255
	}
	fmt.Fprintf(ew, "%s: listing masqueraded connections is not supported\n", progName)
	return 1
}

// runContext is netstat -Z on a kernel without SELinux: net-tools exits
// as soon as it meets the option.
func runContext(w, ew io.Writer, o *modeOptions) int {
	fmt.Fprint(ew, "SELinux is not enabled on this machine.\n")
	return 1
}
