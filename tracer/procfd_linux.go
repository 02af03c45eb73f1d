package tracer

import (
	"os"
	"strconv"
)

// procHolds says whether process pid holds the socket with this inode, and
// at which descriptor: fd first (a forked child keeps its parent's
// numbers), then any (a re-executed child's are renumbered), from
// /proc/PID/fd.
func procHolds(pid, fd int32, inode uint64) (int32, bool) {
	if pid <= 0 || inode == 0 {
		return -1, false
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	dir := "/proc/" + strconv.Itoa(int(pid)) + "/fd/"
	if fd >= 0 {
		if l, err := os.Readlink(dir + strconv.Itoa(int(fd))); err == nil && l == want {
			return fd, true
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return -1, false
	}
	defer d.Close()
	names, _ := d.Readdirnames(maxHeirFDs)
	for _, n := range names {
		if l, err := os.Readlink(dir + n); err == nil && l == want {
			if v, err := strconv.Atoi(n); err == nil {
				return int32(v), true
			}
		}
	}
	return -1, false
}

// maxHeirFDs bounds the descriptors procHolds looks through.
const maxHeirFDs = 1024
