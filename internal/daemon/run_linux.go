package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/table"
	"github.com/bpfstat/bpfstat/snapshot"
	"github.com/bpfstat/bpfstat/tracer"
)

// refreshEvery is how often the live table is reseeded from a snapshot
// though no event was lost (table.Live.Refresh): a snapshot of 100k
// sockets costs ~0.1-0.2 s of CPU, so this is well under 0.1% of a core.
const refreshEvery = 10 * time.Minute

// Config configures Run.
type Config struct {
	// Socket is the listening path ("" = SocketPath("")).
	Socket string
	// Group may connect (socket 0660, directory 0750, both root:Group);
	// "" leaves the group root.
	Group string
	// NoTracer serves without the tracer (owners by fd walk per query).
	NoTracer bool
	// Logf receives the daemon's messages.
	Logf func(format string, args ...any)
	// Listening, if set, is called once the socket accepts clients.
	Listening func()
}

// Run runs the daemon until ctx ends. It removes its socket on the way
// out; the tracer's programs and links are file-descriptor based, never
// pinned, so the kernel drops them when the process dies, however it
// dies.
func Run(ctx context.Context, cfg Config) error {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if os.Geteuid() != 0 {
		return errors.New("starting daemon: must run as root (it loads eBPF programs and reads every process's fds)")
	}
	path := SocketPath(cfg.Socket)
	gid := 0
	if cfg.Group != "" {
		g, err := lookupGroup(cfg.Group)
		if err != nil {
			return err
		}
		gid = g
	}
	ln, err := listen(path, gid)
	if err != nil {
		return err
	}
	defer removeIfOurs(path)()

	self, err := NetNSOf("/proc/self/ns/net")
	if err != nil {
		ln.Close()
		return err
	}
	b := &Backend{SelfNetNS: self}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	liveDone := make(chan struct{})
	if cfg.NoTracer {
		close(liveDone)
		logf("running without the tracer: owners come from an fd walk per query")
	} else if tr, err := tracer.New(tracer.Options{IgnorePID: os.Getpid()}); err != nil {
		close(liveDone)
		logf("tracer unavailable, owners come from an fd walk per query: %v", err)
	} else {
		defer tr.Close()
		ready := make(chan struct{})
		b.Table = table.New(procInfo)
		b.Ready = ready
		live := &table.Live{
			Table: b.Table, Source: tr, Snapshot: b.Snapshot, Ready: ready, Alive: pidAlive,
			Errs:    func(err error) { logf("%v", err) },
			Refresh: refreshEvery,
		}
		go func() {
			// Loading the programs parsed the kernel's BTF (tens of MB,
			// garbage once loaded): once the table is seeded, give those
			// pages back so the daemon's resident size is its table's.
			select {
			case <-ready:
				debug.FreeOSMemory()
			case <-ctx.Done():
			}
		}()
		go func() {
			defer close(liveDone)
			if err := live.Run(ctx); err != nil {
				logf("live table stopped, serving snapshots: %v", err)
				b.TableFailed()
			}
		}()
	}
	go b.RefreshCaches(ctx, logf)
	srv := &Server{Answerer: b, Logf: logf}
	logf("listening on %s", path)
	if cfg.Listening != nil {
		cfg.Listening()
	}
	err = srv.Serve(ctx, ln)
	cancel()
	<-liveDone
	return err
}

// removeIfOurs returns a func removing path if it is still the socket we
// created: a successor daemon may have replaced it meanwhile.
func removeIfOurs(path string) func() {
	var mine unix.Stat_t
	if unix.Lstat(path, &mine) != nil {
		return func() {}
	}
	return func() {
		var now unix.Stat_t
		if unix.Lstat(path, &now) == nil && now.Ino == mine.Ino && now.Dev == mine.Dev {
			os.Remove(path)
		}
	}
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("looking up group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// listen creates the socket directory (0750) and socket (0660), both
// owned by root and gid, refusing to take over a live daemon's socket.
func listen(path string, gid int) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating socket directory: %w", err)
	}
	// Only a directory we created (or the default one) gets our mode: a
	// --socket in /tmp must not chmod /tmp.
	if dir == filepath.Dir(DefaultSocket) || isOurDir(dir) {
		if err := os.Chmod(dir, 0o750); err != nil {
			return nil, fmt.Errorf("setting socket directory mode: %w", err)
		}
		if err := os.Chown(dir, 0, gid); err != nil {
			return nil, fmt.Errorf("setting socket directory group: %w", err)
		}
	}
	if _, err := os.Lstat(path); err == nil {
		if _, _, err := Query(path, daemonproto.Request{Kind: daemonproto.KindPing}, 500*time.Millisecond); err == nil {
			return nil, fmt.Errorf("starting daemon: another daemon answers on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	}
	old := unix.Umask(0o117)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("setting socket mode: %w", err)
	}
	if err := os.Chown(path, 0, gid); err != nil {
		ln.Close()
		return nil, fmt.Errorf("setting socket group: %w", err)
	}
	return ln, nil
}

// isOurDir says whether dir is empty or holds only our socket(s).
func isOurDir(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Type()&os.ModeSocket == 0 {
			return false
		}
	}
	return filepath.Base(dir) == "bpfstat"
}

// procInfo resolves a process's net-tools program name and euid.
func procInfo(pid int32) (string, uint32, bool) {
	pdir := "/proc/" + strconv.Itoa(int(pid))
	var st unix.Stat_t
	if unix.Stat(pdir, &st) != nil {
		return "", 0, false
	}
	cmd, err := os.ReadFile(pdir + "/cmdline")
	if err != nil {
		return "", st.Uid, false
	}
	return snapshot.ProgramName(cmd), st.Uid, true
}

func pidAlive(pid int32) bool {
	return unix.Kill(int(pid), 0) != unix.ESRCH
}
