package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/bpfstat/bpfstat/internal/fuser"
	"github.com/bpfstat/bpfstat/internal/sock"
)

func init() { registerCommand(newFuserCmd) }

// newFuserCmd is psmisc fuser for sockets. Its arguments are parsed by
// fuser's own rules (options and names interleave, -SIGNAL), so cobra
// leaves them alone.
func newFuserCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "fuser [-fIMuvw] [-a|-s] [-4|-6] [-c|-m|-n SPACE] [-k [-i] [-SIGNAL]] NAME...",
		Short:              "psmisc fuser for sockets: which processes use PORT/tcp, PORT/udp, a unix socket",
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			argv0 := "fuser"
			if filepath.Base(os.Args[0]) == "fuser" {
				argv0 = os.Args[0]
			}
			self := os.Getpid()
			env := &fuser.Env{
				Argv0:    argv0,
				Version:  "0.1",
				Stdout:   cmd.OutOrStdout(),
				Stderr:   cmd.ErrOrStderr(),
				Stdin:    cmd.InOrStdin(),
				Self:     int32(self),
				Resolver: &fuser.SystemResolver{},
				Sockets: func(protos []sock.Proto) ([]sock.Socket, error) {
					res, err := loadSockets(socketQuery{Owners: true, Protos: protos})
					if err != nil {
						return nil, fmt.Errorf("reading sockets: %w", err)
					}
					return res.Sockets, nil
				},
				ScanErrors:     func() []string { return fuser.ScanErrors(self) },
				Stat:           fuser.Stat,
				StatSocketPath: fuser.StatSocketPath,
				FileProcs:      fuser.FileProcs(self),
				MountPoints:    fuser.MountPoints,
				UserName:       userNameCache(),
				Kill:           fuser.Kill,
			}
			if code := fuser.Run(env, args); code != 0 {
				return exitError(code)
			}
			return nil
		},
	}
}

// userNameCache looks uids up in the password database once each.
func userNameCache() func(uid uint32) (string, bool) {
	names := map[uint32]string{}
	return func(uid uint32) (string, bool) {
		if n, ok := names[uid]; ok {
			return n, n != ""
		}
		n := ""
		if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
			n = u.Username
		}
		names[uid] = n
		return n, n != ""
	}
}
