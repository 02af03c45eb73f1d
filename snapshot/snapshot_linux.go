package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// procTable is one /proc/net file and what it holds.
type procTable struct {
	file   string
	proto  sock.Proto
	family sock.Family
}

var procTables = []procTable{
	{"tcp", sock.ProtoTCP, sock.FamilyInet},
	{"tcp6", sock.ProtoTCP, sock.FamilyInet6},
	{"udp", sock.ProtoUDP, sock.FamilyInet},
	{"udp6", sock.ProtoUDP, sock.FamilyInet6},
	{"udplite", sock.ProtoUDPLite, sock.FamilyInet},
	{"udplite6", sock.ProtoUDPLite, sock.FamilyInet6},
	{"raw", sock.ProtoRaw, sock.FamilyInet},
	{"raw6", sock.ProtoRaw, sock.FamilyInet6},
	{"unix", sock.ProtoUnix, sock.FamilyUnix},
}

var exoticTables = []struct{ name, path string }{
	{"sctp", "sctp/eps"}, {"ipx", "ipx/socket"}, {"ax25", "ax25"},
	{"x25", "x25"}, {"netrom", "nr"}, {"rose", "rose"},
}

// Sockets reads the socket tables of the caller's network namespace from
// /proc/net and, with Options.Owners, the owning processes from /proc/*/fd.
func Sockets(opts Options) (Result, error) {
	var res Result
	root := opts.Root
	if root == "" {
		root = "/"
	}
	for _, t := range procTables {
		if !opts.wants(t.proto, t.family) {
			continue
		}
		path := filepath.Join(root, "proc/net", t.file)
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				res.Missing = append(res.Missing, t.file)
				continue
			}
			return res, fmt.Errorf("opening %s: %w", path, err)
		}
		var socks []sock.Socket
		var warns []string
		if t.proto == sock.ProtoUnix {
			socks, warns, err = ParseUnix(f)
		} else {
			socks, warns, err = ParseInet(f, t.proto)
		}
		f.Close()
		if err != nil {
			return res, fmt.Errorf("parsing %s: %w", path, err)
		}
		res.Sockets = append(res.Sockets, socks...)
		for _, w := range warns {
			res.Warnings = append(res.Warnings, Warning{Table: t.file, Text: w})
		}
	}
	// Families bpfstat lists no sockets of; netstat still says when the
	// kernel lacks them.
	for _, x := range exoticTables {
		if _, err := os.Stat(filepath.Join(root, "proc/net", x.path)); err != nil {
			res.Missing = append(res.Missing, x.name)
		}
	}
	if opts.Owners {
		owners, denied, err := Owners(root)
		if err != nil {
			return res, err
		}
		res.attachOwners(owners, denied)
	}
	return res, nil
}

// Owners walks /proc/*/fd and maps socket inodes to every (process, fd)
// holding them, lowest pid first. denied reports an fd directory that
// could not be read for lack of permission.
func Owners(root string) (owners map[uint64][]sock.Owner, denied bool, err error) {
	procDir := filepath.Join(root, "proc")
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
		// Skip ourselves, as FastOwners does.
		if pid, err := strconv.Atoi(n); err == nil && n[0] != '+' && n[0] != '-' && (pid != os.Getpid() || procDir != "/proc") {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	owners = make(map[uint64][]sock.Owner)
	buf := make([]byte, 64)
	for _, pid := range pids {
		pdir := filepath.Join(procDir, strconv.Itoa(pid))
		fdDir := pdir + "/fd"
		fd, err := os.Open(fdDir)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				denied = true
			}
			continue
		}
		fds, _ := fd.Readdirnames(-1)
		fd.Close()
		var proc *sock.Owner
		nums := make([]int, 0, len(fds))
		for _, n := range fds {
			if v, err := strconv.Atoi(n); err == nil {
				nums = append(nums, v)
			}
		}
		slices.Sort(nums)
		for _, n := range nums {
			link := fdDir + "/" + strconv.Itoa(n)
			k, err := syscall.Readlink(link, buf)
			if err != nil || k >= len(buf) {
				continue
			}
			inode, ok := SocketInode(string(buf[:k]))
			if !ok {
				continue
			}
			if proc == nil {
				proc = processInfo(pdir, int32(pid))
			}
			o := *proc
			o.FD = int32(n)
			owners[inode] = append(owners[inode], o)
		}
	}
	return owners, denied, nil
}

func processInfo(pdir string, pid int32) *sock.Owner {
	o := &sock.Owner{PID: pid, FD: -1}
	if cmd, err := os.ReadFile(pdir + "/cmdline"); err == nil {
		o.Program = ProgramName(cmd)
	}
	if comm, err := os.ReadFile(pdir + "/comm"); err == nil {
		o.Comm = strings.TrimSuffix(string(comm), "\n")
	}
	var st syscall.Stat_t
	if syscall.Stat(pdir, &st) == nil {
		o.UID = st.Uid
	}
	return o
}
