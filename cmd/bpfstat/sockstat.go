package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bpfstat/bpfstat/internal/render/sockstat"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

func init() { registerCommand(newSockstatCmd) }

// newSockstatCmd is FreeBSD sockstat's listing. Its flags follow BSD
// getopt (no permutation, -p/-P/-j take arguments), so cobra leaves them
// alone.
func newSockstatCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "sockstat [-46CciLlnqSsUuvw] [-j netns] [-p ports] [-P protocols] [--json]",
		Short:              "FreeBSD sockstat: every process and descriptor holding a socket",
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSockstat(cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
}

func runSockstat(stdout, stderr io.Writer, args []string) error {
	o, warnings, err := sockstat.ParseArgs(args)
	for _, w := range warnings {
		io.WriteString(stderr, w)
	}
	var ae *sockstat.ArgError
	if errors.As(err, &ae) {
		io.WriteString(stderr, ae.Error())
		return exitError(1)
	}
	if err != nil {
		return err
	}
	if o.NetNS != "" {
		done, code, err := sockstatInNetNS(o.NetNS)
		if err != nil {
			fmt.Fprintf(stderr, "sockstat: -j %s: %v\n", o.NetNS, err)
			return exitError(1)
		}
		if done {
			if code != 0 {
				return exitError(code)
			}
			return nil
		}
	}
	res, err := loadSockets(socketQuery{
		Owners: true,
		Protos: []sock.Proto{sock.ProtoTCP, sock.ProtoUDP, sock.ProtoUnix},
	})
	if err != nil {
		return fmt.Errorf("reading sockets: %w", err)
	}
	socks := res.Sockets
	if needsSockDiag(socks) {
		if err := snapshot.FillSockDiag(socks); err != nil {
			if o.Verbose > 0 {
				fmt.Fprintf(stderr, "sockstat: %v\n", err)
			}
			// Without unix_diag a unix socket's owner is its holder.
			for i := range socks {
				s := &socks[i]
				if s.Proto == sock.ProtoUnix && s.UID == 0 && len(s.Owners) > 0 {
					s.UID = s.Owners[0].UID
				}
			}
		}
	}
	return sockstat.Render(stdout, socks, o, userNameCache())
}

// needsSockDiag says whether a Linux source left out what only sock_diag
// has (unix peers); FreeBSD sources carry it in Socket.BSD.
func needsSockDiag(socks []sock.Socket) bool {
	for i := range socks {
		s := &socks[i]
		if s.BSD != nil {
			return false
		}
		if s.Proto == sock.ProtoUnix && s.PeerInode != 0 {
			return false
		}
	}
	return true
}
