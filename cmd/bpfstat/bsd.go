package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// runBSD renders FreeBSD netstat's dialect. Placeholder until the FreeBSD
// renderer lands.
func runBSD(cmd *cobra.Command, args []string) error {
	return errors.New("--style bsd: not implemented yet")
}
