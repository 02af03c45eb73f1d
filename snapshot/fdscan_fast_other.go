//go:build !linux

package snapshot

// SocketFDIter is the Linux fast path's hook (see fdscan_fast_linux.go);
// unused elsewhere.
var SocketFDIter func(yield func(pid, fd int32, inode uint64)) error
