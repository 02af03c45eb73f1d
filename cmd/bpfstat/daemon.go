package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bpfstat/bpfstat/internal/daemon"
	"github.com/bpfstat/bpfstat/internal/daemonproto"
)

func init() { registerCommand(newDaemonCmd) }

func newDaemonCmd() *cobra.Command {
	var cfg daemon.Config
	var stats bool
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "keep the live socket table and answer bpfstat queries on a Unix socket",
		Long: `Runs the eBPF tracer and the live socket table, and answers bpfstat clients
on a Unix socket (default ` + daemon.DefaultSocket + `, or $BPFSTAT_SOCKET, or --socket).
The socket is mode 0660 and its directory 0750, owned by root and --group.
Clients get the sockets of their own network namespace (--all-netns: all);
non-root clients see only their own processes' pids, as with netstat.
Numeric listings without -o are answered from a dump of the namespace kept
at most ~1 s old (0.2 s after a socket event) and rendered by the daemon;
bpfstat --fresh asks for a dump at query time.`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if stats {
				return printDaemonStats(cmd.OutOrStdout(), cfg.Socket)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			stderr := cmd.ErrOrStderr()
			cfg.Logf = func(format string, args ...any) {
				fmt.Fprintf(stderr, "bpfstat daemon: "+format+"\n", args...)
			}
			if ready := os.Getenv("BPFSTAT_DAEMON_READY_FD"); ready != "" {
				// Test hook: write one byte to this fd once listening.
				cfg.Listening = func() {
					var fd int
					fmt.Sscan(ready, &fd)
					f := os.NewFile(uintptr(fd), "ready")
					f.Write([]byte{'\n'})
					f.Close()
				}
			}
			if os.Getenv("GOGC") == "" {
				// The table is long-lived and small; each query's dump is
				// short-lived garbage. A tighter GC keeps RSS near the
				// table's size (the 300 B/socket budget) for a few ms of
				// CPU per query.
				debug.SetGCPercent(25)
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				// A ceiling for the moments the listing cache holds the
				// collector off (internal/daemon.holdGC).
				debug.SetMemoryLimit(1 << 30)
			}
			if path := os.Getenv("BPFSTAT_DAEMON_CPUPROFILE"); path != "" {
				// Profiling hook for bench work: CPU profile until exit.
				if f, err := os.Create(path); err == nil {
					pprof.StartCPUProfile(f)
					defer pprof.StopCPUProfile()
				}
			}
			if path := os.Getenv("BPFSTAT_DAEMON_HEAPPROFILE"); path != "" {
				// Profiling hook for bench work: the heap at exit.
				defer func() {
					if f, err := os.Create(path); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}()
			}
			return daemon.Run(ctx, cfg)
		},
	}
	cmd.Flags().StringVar(&cfg.Socket, "socket", "", "listen on this Unix socket path (default $BPFSTAT_SOCKET or "+daemon.DefaultSocket+")")
	cmd.Flags().StringVar(&cfg.Group, "group", "", "group allowed to query (socket 0660, directory 0750)")
	cmd.Flags().BoolVar(&stats, "stats", false, "print a running daemon's table counters as JSON and exit")
	cmd.Flags().BoolVar(&cfg.NoTracer, "no-tracer", false, "do not load eBPF programs; read owners from /proc per query")
	return cmd
}

// printDaemonStats asks a running daemon for its counters.
func printDaemonStats(w io.Writer, socket string) error {
	hdr, _, err := daemon.Query(daemon.SocketPath(socket), daemonproto.Request{Kind: daemonproto.KindStats}, 5*time.Second)
	if err != nil {
		return err
	}
	b, err := json.Marshal(hdr.Stats)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
