package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// Fast takes the same snapshot as Sockets, quicker: TCP, UDP, UDP-Lite
// and RAW tables come from netlink sock_diag (binary records, no text to
// format and parse), unix sockets from /proc/net/unix (see diag.go for
// why), owners from FastOwners. Sockets also carry their cookies. A table
// sock_diag cannot dump (e.g. raw without CONFIG_INET_RAW_DIAG), or every
// table when Options.Root points at a fixture tree or netlink is not
// available, is read from /proc/net instead. Fast never calls Sockets, so
// Sockets may delegate to it.
func Fast(opts Options) (Result, error) {
	root := opts.Root
	if root == "" {
		root = "/"
	}
	fd := -1
	if root == "/" {
		if s, err := diagSocket(); err == nil {
			fd = s
			defer unix.Close(fd)
		}
	}
	return fastWith(fd, root, filepath.Join(root, "proc/net"), opts)
}

// FastIn is Fast in the network namespace nsPath refers to (e.g.
// /proc/PID/ns/net or /run/netns/NAME). The work runs on a locked OS
// thread that enters the namespace, so both the netlink socket and
// /proc/thread-self/net belong to it; the thread leaves the namespace
// afterwards, or is retired if it cannot. Needs CAP_SYS_ADMIN.
func FastIn(nsPath string, opts Options) (Result, error) {
	nsfd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Result{}, fmt.Errorf("opening network namespace: %w", err)
	}
	defer unix.Close(nsfd)
	type out struct {
		res Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		runtime.LockOSThread()
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- out{err: fmt.Errorf("opening own network namespace: %w", err)}
			return
		}
		defer unix.Close(self)
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- out{err: fmt.Errorf("entering network namespace %s: %w", nsPath, err)}
			return
		}
		var o out
		fd, err := diagSocket()
		if err != nil {
			o.err = err
		} else {
			o.res, o.err = fastWith(fd, "/", "/proc/thread-self/net", opts)
			unix.Close(fd)
		}
		if unix.Setns(self, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else: stay locked; the runtime retires the thread with us.
		ch <- o
	}()
	o := <-ch
	return o.res, o.err
}

func diagSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("opening sock_diag socket: %w", err)
	}
	// A big receive buffer lets the kernel fill whole 32k batches.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	return fd, nil
}

var diagSeq atomic.Uint32

var errNoNetlink = errors.New("no sock_diag socket")

// diagTable is one inet table as sock_diag dumps it.
type diagTable struct {
	file     string
	proto    sock.Proto
	family   sock.Family
	ipproto  uint8
	afFamily uint8
}

var diagTables = []diagTable{
	{"tcp", sock.ProtoTCP, sock.FamilyInet, unix.IPPROTO_TCP, unix.AF_INET},
	{"tcp6", sock.ProtoTCP, sock.FamilyInet6, unix.IPPROTO_TCP, unix.AF_INET6},
	{"udp", sock.ProtoUDP, sock.FamilyInet, unix.IPPROTO_UDP, unix.AF_INET},
	{"udp6", sock.ProtoUDP, sock.FamilyInet6, unix.IPPROTO_UDP, unix.AF_INET6},
	{"udplite", sock.ProtoUDPLite, sock.FamilyInet, unix.IPPROTO_UDPLITE, unix.AF_INET},
	{"udplite6", sock.ProtoUDPLite, sock.FamilyInet6, unix.IPPROTO_UDPLITE, unix.AF_INET6},
	{"raw", sock.ProtoRaw, sock.FamilyInet, unix.IPPROTO_RAW, unix.AF_INET},
	{"raw6", sock.ProtoRaw, sock.FamilyInet6, unix.IPPROTO_RAW, unix.AF_INET6},
}

// diagStates are the TCP states /proc/net/tcp can list: all but CLOSE and
// BOUND_INACTIVE (which makes 6.8+ kernels walk the bind hash, where
// /proc does not look). UDP and RAW sockets sit in CLOSE when unconnected.
const (
	tcpDiagStates   = ^uint32(0) &^ (1<<7 | 1<<13)
	otherDiagStates = ^uint32(0) &^ (1 << 13)
)

func fastWith(fd int, root, procNet string, opts Options) (Result, error) {
	// Owners come from a walk of every process (or a BPF iterator), which
	// needs nothing from the dump: it runs on another core meanwhile.
	type ownersOut struct {
		owners map[uint64][]sock.Owner
		denied bool
		err    error
	}
	var ownersCh chan ownersOut
	if opts.Owners {
		ownersCh = make(chan ownersOut, 1)
		go func() {
			var o ownersOut
			o.owners, o.denied, o.err = FastOwners(root)
			ownersCh <- o
		}()
	}
	var res Result
	coll := opts.Collect
	if coll != nil && opts.Owners {
		return res, errors.New("snapshot: a Collector gets no owners")
	}
	if coll == nil {
		// Size the result once: a 100k-socket dump appended one by one
		// copies the growing slice a dozen times.
		res.Sockets = make([]sock.Socket, 0, sockstatHint(procNet))
		coll = sliceCollector{&res}
	}
	buf := make([]byte, 256<<10)
	// One socket decoded at a time: handed to the collector by pointer
	// (which copies it), so that it is not allocated once per socket.
	s := new(sock.Socket)
	for _, t := range diagTables {
		if !opts.wants(t.proto, t.family) {
			continue
		}
		// /proc/net tells which tables the kernel has, as netstat sees it.
		if _, err := os.Stat(filepath.Join(procNet, t.file)); err != nil {
			res.Missing = append(res.Missing, t.file)
			continue
		}
		states := otherDiagStates
		if t.proto == sock.ProtoTCP {
			states = tcpDiagStates
		}
		n := coll.Len()
		err := errNoNetlink
		requests := false
		if fd >= 0 {
			err = diagDump(fd, buf, t.afFamily, t.ipproto, states, func(b []byte) error {
				var err error
				if *s, err = decodeInetDiag(b, t.proto); err != nil {
					return err
				}
				requests = requests || isRequest(s)
				coll.Add(s)
				return nil
			})
		}
		if err != nil {
			// Not dumpable here: read this table from /proc instead.
			coll.Truncate(n)
			if err := procTableInto(&res, coll, procNet, t.file, t.proto); err != nil {
				return res, err
			}
			continue
		}
		if t.proto == sock.ProtoTCP && requests {
			// A request socket's retry count differs: inet_diag reports
			// num_retrans, /proc/net/tcp (netstat -o) num_timeout, and
			// they part when no SYN-ACK is resent (TCP_DEFER_ACCEPT
			// keeps acked requests for seconds without resending).
			// Only /proc has it: read this table from there.
			coll.Truncate(n)
			if err := procTableInto(&res, coll, procNet, t.file, t.proto); err != nil {
				return res, err
			}
			continue
		}
	}
	if opts.wants(sock.ProtoUnix, sock.FamilyUnix) {
		if err := procTableInto(&res, coll, procNet, "unix", sock.ProtoUnix); err != nil {
			return res, err
		}
	}
	for _, x := range exoticTables {
		if _, err := os.Stat(filepath.Join(procNet, x.path)); err != nil {
			res.Missing = append(res.Missing, x.name)
		}
	}
	if ownersCh != nil {
		o := <-ownersCh
		if o.err != nil {
			return res, o.err
		}
		res.attachOwners(o.owners, o.denied)
	}
	return res, nil
}

// procTableInto adds one /proc/net table's sockets to coll and its
// warnings to res.
func procTableInto(res *Result, coll Collector, procNet, file string, proto sock.Proto) error {
	path := filepath.Join(procNet, file)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			res.Missing = append(res.Missing, file)
			return nil
		}
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	var socks []sock.Socket
	var warns []string
	if proto == sock.ProtoUnix {
		socks, warns, err = ParseUnix(f)
	} else {
		socks, warns, err = ParseInet(f, proto)
	}
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	for i := range socks {
		coll.Add(&socks[i])
	}
	for _, w := range warns {
		res.Warnings = append(res.Warnings, Warning{Table: file, Text: w})
	}
	return nil
}

// diagDump runs one NLM_F_DUMP request and feeds every record to fn.
func diagDump(fd int, buf []byte, family, proto uint8, states uint32, fn func([]byte) error) error {
	seq := diagSeq.Add(1)
	req := diagRequest(family, proto, states, 0, seq)
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Sendto(fd, req, 0, sa); err != nil {
		return fmt.Errorf("sending sock_diag request: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("receiving sock_diag dump: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("receiving sock_diag dump: %w", errDiagTruncated)
		}
		done, err := netlinkMessages(buf[:n], seq, fn)
		if err != nil {
			return fmt.Errorf("reading sock_diag dump: %w", err)
		}
		if done {
			return nil
		}
	}
}

// sockstatHint estimates how many sockets a dump returns from
// /proc/net/sockstat{,6} (in-use TCP, UDP, RAW and TIME_WAIT counts), with
// some slack; 0 when unknown.
func sockstatHint(procNet string) int {
	n := 0
	for _, f := range []string{"sockstat", "sockstat6"} {
		b, err := os.ReadFile(filepath.Join(procNet, f))
		if err != nil {
			continue
		}
		n += parseSockstatHint(b)
	}
	return n + n/8 + 64
}
