package snapshot

import (
	"bytes"
	"strconv"
	"strings"
)

// SocketInode extracts the inode from an fd link target: "socket:[123]",
// or the old "[0000]:123" form.
func SocketInode(link string) (uint64, bool) {
	if s, ok := strings.CutPrefix(link, "socket:["); ok {
		if len(s) < 2 || s[len(s)-1] != ']' {
			return 0, false
		}
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 64)
		return n, err == nil
	}
	if s, ok := strings.CutPrefix(link, "[0000]:"); ok && s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// ProgramName derives net-tools' program name from /proc/PID/cmdline as
// read into its 512-byte buffer: argv[0], reduced to its base name when it
// is an absolute path.
func ProgramName(cmdline []byte) string {
	if len(cmdline) > 511 {
		cmdline = cmdline[:511]
	}
	if i := bytes.IndexByte(cmdline, 0); i >= 0 {
		cmdline = cmdline[:i]
	}
	if len(cmdline) > 0 && cmdline[0] == '/' {
		cmdline = cmdline[bytes.LastIndexByte(cmdline, '/')+1:]
	}
	return string(cmdline)
}
