package main

import (
	"errors"

	"github.com/bpfstat/bpfstat/snapshot"
	"github.com/spf13/cobra"
)

func runLinux(cmd *cobra.Command, args []string) error {
	return errors.New("not implemented yet")
}

// snapshotSockets takes a one-shot snapshot of the caller's namespace.
func snapshotSockets(q socketQuery) (snapshot.Result, error) {
	return snapshot.Sockets(snapshot.Options{Protos: q.Protos, Families: q.Families, Owners: q.Owners})
}
