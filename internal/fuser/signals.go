package fuser

import (
	"fmt"
	"io"
	"strings"
)

const sigKill = 9

// signalNames are Linux's signals 1..31 in number order, the names psmisc
// generates from <signal.h> for "fuser -l".
var signalNames = [...]string{
	"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
	"SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP",
	"TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH",
	"POLL", "PWR", "SYS",
}

// getSignal maps "-SIGNAL"'s text to a number as psmisc does: a leading
// digit means atoi, otherwise an optional "SIG" prefix and an exact name.
func getSignal(s string) (int, bool) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		n := 0
		for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	s = strings.TrimPrefix(s, "SIG")
	for i, n := range signalNames {
		if n == s {
			return i + 1, true
		}
	}
	return 0, false
}

// listSignals prints the names wrapped before column 80.
func listSignals(w io.Writer) {
	col := 0
	for _, n := range signalNames {
		if col+len(n)+1 > 80 {
			io.WriteString(w, "\n")
			col = 0
		}
		if col > 0 {
			io.WriteString(w, " ")
		}
		io.WriteString(w, n)
		col += len(n) + 1
	}
	io.WriteString(w, "\n")
}

func printVersion(env *Env) {
	fmt.Fprintf(env.Stderr, "fuser (bpfstat) %s\n", env.Version)
	io.WriteString(env.Stderr, "psmisc fuser's interface for sockets, answered from bpfstat's socket table.\n")
}
