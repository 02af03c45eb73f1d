//go:build !linux

package main

import (
	"fmt"

	"github.com/bpfstat/bpfstat/snapshot"
)

// sockstatInNetNS: jails are not network namespaces; FreeBSD's own
// sockstat -j covers them.
func sockstatInNetNS(arg string) (bool, int, error) {
	return false, 0, fmt.Errorf("selecting a jail: %w", snapshot.ErrNotSupported)
}
