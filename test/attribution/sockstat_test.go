//go:build linux

package attribution

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// row is one sockstat line.
type row struct {
	user, command string
	pid, fd       int // -1 on "?" lines
	proto         string
	addr          string // everything after PROTO
}

func sockstatRows(t *testing.T, z *zoo, args ...string) []row {
	t.Helper()
	r := runAs(t, z.bin, "sockstat", "", append([]string{"-q"}, args...)...)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("sockstat %v: code %d stderr %q", args, r.Code, r.Stderr)
	}
	var rows []row
	for _, l := range strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n") {
		if len(l) < 37 {
			if l != "" {
				t.Errorf("short line %q", l)
			}
			continue
		}
		rw := row{user: strings.TrimSpace(l[:9]), command: strings.TrimSpace(l[9:20]), pid: -1, fd: -1}
		rw.proto = strings.TrimSpace(l[30:37])
		rw.addr = strings.TrimRight(l[37:], " ")
		if p := strings.TrimSpace(l[20:25]); p != "?" {
			rw.pid, _ = strconv.Atoi(strings.TrimSpace(l[20:26]))
			rw.fd, _ = strconv.Atoi(strings.TrimSpace(l[26:30]))
		}
		rows = append(rows, rw)
	}
	return rows
}

type holder struct{ pid, fd int }

func (z *zoo) holders(rows []row) []holder {
	var out []holder
	for _, r := range rows {
		if _, ok := z.pids[r.pid]; ok {
			out = append(out, holder{r.pid, r.fd})
		}
	}
	return sortHolders(out)
}

func sortHolders(h []holder) []holder {
	slices.SortFunc(h, func(a, b holder) int {
		if a.pid != b.pid {
			return a.pid - b.pid
		}
		return a.fd - b.fd
	})
	return slices.Compact(h)
}

var ssUser = regexp.MustCompile(`pid=(\d+),fd=(\d+)`)

// TestSockstatHoldersMatchSS: every (pid, fd) of the zoo holding a TCP,
// UDP or unix socket, as ss -p and lsof see them.
func TestSockstatHoldersMatchSS(t *testing.T) {
	z := setup(t)
	got := z.holders(sockstatRows(t, z, "-n"))
	if _, err := exec.LookPath("ss"); err == nil {
		out, err := exec.Command("ss", "-tuxanp").Output()
		if err != nil {
			t.Fatal(err)
		}
		var want []holder
		for _, m := range ssUser.FindAllStringSubmatch(string(out), -1) {
			pid, _ := strconv.Atoi(m[1])
			fd, _ := strconv.Atoi(m[2])
			if _, ok := z.pids[pid]; ok {
				want = append(want, holder{pid, fd})
			}
		}
		want = sortHolders(want)
		if !slices.Equal(got, want) {
			t.Errorf("holders:\nsockstat %v\nss -p    %v", got, want)
		}
	}
	if _, err := exec.LookPath("lsof"); err == nil {
		var pids []string
		for pid := range z.pids {
			pids = append(pids, strconv.Itoa(pid))
		}
		out, _ := exec.Command("lsof", "-nP", "-w", "-F", "pft", "-p", strings.Join(pids, ",")).Output()
		var want []holder
		pid, fd := 0, -1
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			l := sc.Text()
			if l == "" {
				continue
			}
			switch l[0] {
			case 'p':
				pid, _ = strconv.Atoi(l[1:])
			case 'f':
				fd = -1
				if n, err := strconv.Atoi(l[1:]); err == nil {
					fd = n
				}
			case 't':
				if fd >= 0 && (l[1:] == "IPv4" || l[1:] == "IPv6" || l[1:] == "unix") {
					want = append(want, holder{pid, fd})
				}
			}
		}
		want = sortHolders(want)
		if !slices.Equal(got, want) {
			t.Errorf("holders:\nsockstat %v\nlsof     %v", got, want)
		}
	}
}

func find(rows []row, proto, addrPrefix string) []row {
	var out []row
	for _, r := range rows {
		if r.proto == proto && strings.HasPrefix(r.addr, addrPrefix) {
			out = append(out, r)
		}
	}
	return out
}

func pidsOf(rows []row) []int {
	var p []int
	for _, r := range rows {
		p = append(p, r.pid)
	}
	slices.Sort(p)
	return p
}

func TestSockstatScenarios(t *testing.T) {
	z := setup(t)
	rows := sockstatRows(t, z)
	want := slices.Clone(z.roles["prefork"])
	slices.Sort(want)
	if got := pidsOf(find(rows, "tcp4", "127.0.0.1:7001        *:*")); !slices.Equal(got, want) {
		t.Errorf("pre-fork listener holders %v, want %v", got, want)
	}
	if got := pidsOf(find(rows, "tcp46", "*:7002")); !slices.Equal(got, want) {
		t.Errorf("dual-stack listener holders %v, want %v", got, want)
	}
	if got := pidsOf(find(rows, "tcp6", "*:7004")); !slices.Equal(got, want) {
		t.Errorf("V6ONLY listener holders %v, want %v", got, want)
	}
	if got := pidsOf(find(rows, "udp4", "127.0.0.1:7003        *:*")); !slices.Equal(got, want) {
		t.Errorf("udp holders %v, want %v", got, want)
	}
	// Connections waiting in the accept queue belong to no process.
	if q := find(rows, "tcp4", "127.0.0.1:7001        127.0.0.1:"); len(q) != 1 || q[0].pid != -1 || q[0].user != "?" {
		t.Errorf("unaccepted connection: %+v", q)
	}
	if q := find(rows, "tcp4", "127.0.0.1:7002        127.0.0.1:"); len(q) != 1 || q[0].pid != -1 {
		t.Errorf("unaccepted v4-mapped connection: %+v", q)
	}
	cl := z.roles["client"][0]
	if q := find(rows, "tcp6", "::1:"); len(q) != 2 {
		t.Errorf("IPv6 connection rows: %+v", q)
	} else if q[0].pid != cl && q[1].pid != cl {
		t.Errorf("IPv6 client not attributed: %+v", q)
	}

	scm := z.roles["scm"]
	l := find(rows, "tcp4", "127.0.0.1:7010")
	if got := pidsOf(l); !slices.Equal(got, []int{scm[0], scm[1]}) {
		t.Errorf("SCM_RIGHTS listener holders %+v, want sender %d and receiver %d", l, scm[0], scm[1])
	}
	for _, r := range l {
		if r.pid == scm[1] && r.fd != 40 {
			t.Errorf("receiver holds the listener as fd %d, want 40", r.fd)
		}
	}

	ex := z.roles["exiter"]
	if got := pidsOf(find(rows, "tcp4", "127.0.0.1:7020")); !slices.Equal(got, ex[1:]) {
		t.Errorf("7020 holders %v, want only the child %v (its opener exited)", got, ex[1:])
	}
	if r := find(rows, "tcp4", "127.0.0.1:7021"); len(r) != 0 {
		t.Errorf("7021 outlived its process: %+v", r)
	}

	nb := find(rows, "tcp4", "127.0.0.1:7030")
	if len(nb) != 1 || nb[0].user != "nobody" {
		t.Errorf("nobody's listener: %+v", nb)
	}
	if nb := find(sockstatRows(t, z, "-n", "-4"), "tcp4", "127.0.0.1:7030"); len(nb) != 1 || nb[0].user != "65534" {
		t.Errorf("nobody's listener with -n: %+v", nb)
	}

	u := filepath.Join(z.dir, "u.sock")
	un := z.roles["unix"][0]
	var listener, client, accepted *row
	for i, r := range rows {
		switch {
		case r.proto == "stream" && r.addr == u:
			listener = &rows[i]
		case r.proto == "stream" && r.addr == "-> "+u:
			client = &rows[i]
		case r.proto == "stream" && strings.HasPrefix(r.addr, u+" -> ["):
			accepted = &rows[i]
		}
	}
	if listener == nil || client == nil || accepted == nil {
		t.Fatalf("unix stream rows missing: listener %v client %v accepted %v", listener, client, accepted)
	}
	if want := fmt.Sprintf("%s -> [%d %d]", u, client.pid, client.fd); accepted.addr != want || accepted.pid != un {
		t.Errorf("accepted socket: %q, want %q", accepted.addr, want)
	}
	d := filepath.Join(z.dir, "d.sock")
	var dg *row
	var senders []string
	for i, r := range rows {
		if r.proto == "dgram" && strings.HasPrefix(r.addr, d+" <- ") {
			dg = &rows[i]
		}
		if r.proto == "dgram" && r.addr == "-> "+d {
			senders = append(senders, fmt.Sprintf("[%d %d]", r.pid, r.fd))
		}
	}
	if dg == nil || len(senders) != 2 {
		t.Fatalf("datagram rows: server %v senders %v", dg, senders)
	}
	refs := strings.Split(strings.TrimPrefix(dg.addr, d+" <- "), ",")
	slices.Sort(refs)
	slices.Sort(senders)
	if !slices.Equal(refs, senders) {
		t.Errorf("datagram server refs %v, want %v", refs, senders)
	}
	if sp := find(rows, "seqpac", "-> ["); len(sp) != 2 {
		t.Errorf("seqpacket pair rows: %+v", sp)
	}
}

// TestSockstatNetNS: -j PID lists the sockets of that process's network
// namespace, as -j does for a vnet jail.
func TestSockstatNetNS(t *testing.T) {
	z := setup(t)
	p := z.env.StartCmd(t, "netns", "zoo-netns", -1, func(cmd *exec.Cmd) {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	})
	defer p.Stop()
	pid := p.Cmd.Process.Pid
	rows := sockstatRows(t, z, "-4", "-j", strconv.Itoa(pid))
	if len(rows) != 1 || rows[0].pid != pid || !strings.HasPrefix(rows[0].addr, "*:7060") {
		t.Errorf("sockstat -j %d: %+v", pid, rows)
	}
	if r := find(sockstatRows(t, z, "-4"), "tcp4", "*:7060"); len(r) != 0 {
		t.Errorf("the other namespace's socket shows here: %+v", r)
	}
}
