package tracer

// SocketFD is one file descriptor referring to a socket: what netstat -p
// reads from /proc/PID/fd one link at a time.
type SocketFD struct {
	PID   int32 // thread-group id in the initial pid namespace
	FD    int32
	Inode uint64
}
