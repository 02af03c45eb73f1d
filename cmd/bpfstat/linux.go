package main

import (
	"errors"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
	"github.com/spf13/cobra"
)

func runLinux(cmd *cobra.Command, args []string) error {
	return errors.New("not implemented yet")
}

// snapshotSockets takes a one-shot snapshot of the caller's namespace.
func snapshotSockets(q socketQuery) ([]sock.Socket, []string, bool, error) {
	res, err := snapshot.Sockets(snapshot.Options{Protos: q.Protos, Owners: q.Owners})
	if err != nil {
		return nil, nil, false, err
	}
	return res.Sockets, res.Warnings, res.OwnersDenied, nil
}
