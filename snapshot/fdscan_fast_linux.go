package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// SocketFDIter, when set, lists every socket descriptor of every process
// in one pass (cmd/bpfstat sets it to the tracer's iter/task_file
// iterator; snapshot does not import the tracer). FastOwners uses it when
// reading the real /proc as root in the initial pid namespace, and walks
// /proc/*/fd when it is nil or fails.
var SocketFDIter func(yield func(pid, fd int32, inode uint64)) error

// initPidNS is PROC_PID_INIT_INO, the initial pid namespace's inode.
const initPidNS = 0xEFFFFFFC

// iterOwners builds FastOwners' result from SocketFDIter.
func iterOwners(procDir string) (map[uint64][]sock.Owner, bool) {
	if SocketFDIter == nil || procDir != "/proc" || unix.Geteuid() != 0 {
		return nil, false
	}
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/pid", &st) != nil || st.Ino != initPidNS {
		return nil, false
	}
	type rec struct {
		pid, fd int32
		inode   uint64
	}
	recs := make([]rec, 0, 4096)
	self := int32(os.Getpid())
	if err := SocketFDIter(func(pid, fd int32, inode uint64) {
		// Our own sockets (netlink, the iterator's) are not the user's:
		// netstat holds none while it scans.
		if pid != self {
			recs = append(recs, rec{pid, fd, inode})
		}
	}); err != nil {
		return nil, false
	}
	byPidFd := func(a, b rec) int {
		if a.pid != b.pid {
			return int(a.pid) - int(b.pid)
		}
		return int(a.fd) - int(b.fd)
	}
	// The iterator walks tasks in pid order and each table's descriptors
	// in order: sorting is usually a check.
	if !slices.IsSortedFunc(recs, byPidFd) {
		slices.SortFunc(recs, byPidFd)
	}
	owners := make(map[uint64][]sock.Owner, len(recs))
	// One array for every owner; a socket held once (nearly all) takes a
	// one-element slice of it, a shared one gets its own slice.
	pool := make([]sock.Owner, 0, len(recs))
	var proc *sock.Owner
	for i, r := range recs {
		if i > 0 && recs[i-1].pid == r.pid && recs[i-1].fd == r.fd {
			continue // a thread with its own fd table, seen twice
		}
		if proc == nil || proc.PID != r.pid {
			proc = fastProcessInfo(procDir+"/"+strconv.Itoa(int(r.pid)), r.pid)
		}
		o := *proc
		o.FD = r.fd
		if held, ok := owners[r.inode]; ok {
			owners[r.inode] = append(held[:len(held):len(held)], o)
			continue
		}
		pool = append(pool, o)
		owners[r.inode] = pool[len(pool)-1 : len(pool) : len(pool)]
	}
	return owners, true
}

// FastOwners is Owners made quick for 100k sockets: the processes are
// split over GOMAXPROCS workers, each fd directory is read with
// getdents64 through one open descriptor, and links are read with
// readlinkat relative to it (no path walk from / per fd). Process names
// are read only for processes that hold a socket. The result is the
// same: every (process, fd) holding a socket inode, lowest pid first.
func FastOwners(root string) (owners map[uint64][]sock.Owner, denied bool, err error) {
	procDir := filepath.Join(root, "proc")
	if o, ok := iterOwners(procDir); ok {
		return o, false, nil
	}
	d, err := os.Open(procDir)
	if err != nil {
		return nil, false, fmt.Errorf("listing processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, false, fmt.Errorf("listing processes: %w", err)
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] >= '1' && n[0] <= '9' {
			// Skip ourselves: our own sockets (netlink) are not the
			// user's, and netstat holds none while it scans.
			if pid, err := strconv.Atoi(n); err == nil && (pid != os.Getpid() || procDir != "/proc") {
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)

	type found struct {
		inode uint64
		fd    int32
	}
	type procResult struct {
		owner  *sock.Owner
		socks  []found
		denied bool
	}
	results := make([]procResult, len(pids))
	workers := min(runtime.GOMAXPROCS(0)*2, len(pids), 16)
	var next sync.Mutex
	idx := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dents := make([]byte, 32<<10)
			link := make([]byte, 64)
			for {
				next.Lock()
				i := idx
				idx += 16
				next.Unlock()
				if i >= len(pids) {
					return
				}
				for j := i; j < min(i+16, len(pids)); j++ {
					pdir := procDir + "/" + strconv.Itoa(pids[j])
					r := &results[j]
					dfd, err := unix.Open(pdir+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
					if err != nil {
						r.denied = errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)
						continue
					}
					for {
						n, err := unix.ReadDirent(dfd, dents)
						if err != nil || n <= 0 {
							break
						}
						buf := dents[:n]
						for len(buf) > 0 {
							reclen, name, ok := direntName(buf)
							if !ok {
								break
							}
							buf = buf[reclen:]
							if name == "" || name[0] < '0' || name[0] > '9' {
								continue
							}
							k, err := unix.Readlinkat(dfd, name, link)
							if err != nil || k >= len(link) || k < 9 || string(link[:8]) != "socket:[" {
								continue
							}
							inode, ok := SocketInode(string(link[:k]))
							if !ok {
								continue
							}
							fdn, _ := strconv.Atoi(name)
							r.socks = append(r.socks, found{inode, int32(fdn)})
						}
					}
					unix.Close(dfd)
					if len(r.socks) > 0 {
						r.owner = fastProcessInfo(pdir, int32(pids[j]))
						slices.SortFunc(r.socks, func(a, b found) int { return int(a.fd) - int(b.fd) })
					}
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := range results {
		total += len(results[i].socks)
	}
	owners = make(map[uint64][]sock.Owner, total)
	for i := range results {
		r := &results[i]
		denied = denied || r.denied
		for _, f := range r.socks {
			o := *r.owner
			o.FD = f.fd
			owners[f.inode] = append(owners[f.inode], o)
		}
	}
	return owners, denied, nil
}

// direntName decodes one linux_dirent64 record: its length and name.
func direntName(b []byte) (reclen int, name string, ok bool) {
	const nameOff = 19 // d_ino 8, d_off 8, d_reclen 2, d_type 1
	if len(b) < nameOff {
		return 0, "", false
	}
	reclen = int(binary.NativeEndian.Uint16(b[16:]))
	if reclen < nameOff || reclen > len(b) {
		return 0, "", false
	}
	n := b[nameOff:reclen]
	for i, c := range n {
		if c == 0 {
			n = n[:i]
			break
		}
	}
	return reclen, string(n), true
}

func fastProcessInfo(pdir string, pid int32) *sock.Owner {
	o := &sock.Owner{PID: pid, FD: -1}
	buf := make([]byte, 512)
	if n := readSmall(pdir+"/cmdline", buf); n >= 0 {
		o.Program = ProgramName(buf[:n])
	}
	if n := readSmall(pdir+"/comm", buf); n >= 0 {
		o.Comm = strings.TrimSuffix(string(buf[:n]), "\n")
	}
	var st unix.Stat_t
	if unix.Stat(pdir, &st) == nil {
		o.UID = st.Uid
	}
	return o
}

// readSmall reads up to len(buf) bytes of a /proc file, -1 on error.
func readSmall(path string, buf []byte) int {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return -1
	}
	return n
}
