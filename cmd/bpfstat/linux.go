package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func runLinux(cmd *cobra.Command, args []string) error {
	return errors.New("not implemented yet")
}
