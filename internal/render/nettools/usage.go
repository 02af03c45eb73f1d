package nettools

import (
	_ "embed"
	"io"
)

// usageText is net-tools netstat 2.10's usage message, as this build of
// net-tools prints it (its address family list included).
//
//go:embed usage.txt
var usageText string

// aflistText is print_aflist's output, which goes to stderr even when the
// rest of the usage goes to stdout.
//
//go:embed usage_aflist.txt
var aflistText string

// Usage prints netstat's usage text to w, and its family list to ew.
func Usage(w, ew io.Writer) {
	io.WriteString(w, usageText)
	io.WriteString(ew, aflistText)
}
