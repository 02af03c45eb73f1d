package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// subcommands are registered by their own files' init functions.
var subcommands []func() *cobra.Command

func registerCommand(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// run dispatches on argv[0] (netstat, sockstat, fuser), then on a
// subcommand name, then treats the arguments as netstat flags.
func run(argv []string) int { return runWith(argv, os.Stdout, os.Stderr) }

// runWith is run with the output streams given, for in-process tests.
func runWith(argv []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetOut(stdout)
	root.SetErr(stderr)
	progName = argv[0]
	name := filepath.Base(argv[0])
	args := argv[1:]
	switch name {
	case "sockstat", "fuser":
		args = append([]string{name}, args...)
	}
	var err error
	if len(args) > 0 && isSubcommand(root, args[0]) {
		root.SetArgs(args)
		err = root.Execute()
	} else {
		// netstat's command line: words that happen to name a
		// subcommand later on (`bpfstat -an help`) are stray operands
		// netstat ignores, not commands.
		err = root.RunE(root, args)
	}
	if err != nil {
		if ee, ok := err.(exitError); ok {
			return int(ee)
		}
		fmt.Fprintf(stderr, "bpfstat: %v\n", err)
		return 1
	}
	return 0
}

// isSubcommand reports whether word names one of bpfstat's subcommands.
func isSubcommand(root *cobra.Command, word string) bool {
	for _, c := range root.Commands() {
		if c.Name() == word || c.HasAlias(word) {
			return true
		}
	}
	return false
}

// exitError carries an exit status whose message was already printed, as
// netstat's own errors are.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:                "bpfstat [netstat flags]",
		Short:              "netstat, instantly, from an eBPF-maintained socket table",
		SilenceUsage:       true,
		SilenceErrors:      true,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch s, err := style(args); {
			case err != nil:
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", progName, err)
				return exitError(2)
			case s == "bsd":
				return runBSD(cmd, args)
			default:
				return runLinux(cmd, args)
			}
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// style picks the output dialect: --style wins, else the host's.
func style(args []string) (string, error) {
	for i, a := range args {
		if a == "--" {
			break
		}
		v, ok := strings.CutPrefix(a, "--style=")
		if !ok && a == "--style" {
			if i+1 == len(args) {
				return "", errors.New("option '--style' requires an argument: bsd or linux")
			}
			v, ok = args[i+1], true
		}
		if ok {
			if v != "bsd" && v != "linux" {
				return "", fmt.Errorf("invalid --style %q: want bsd or linux", v)
			}
			return v, nil
		}
	}
	return defaultStyle, nil
}

// progName is argv[0] as glibc's getopt prints it in diagnostics.
var progName = "bpfstat"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
