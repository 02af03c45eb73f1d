// Command sockets holds many loopback TCP connections open for benchmarks:
// -pairs connections (two sockets each) spread over -procs processes, each
// under the 20000 open-file hard limit. It prints "ready" once all are
// established and holds them until stdin closes. Run it in a private
// network namespace (unshare -n) with lo up; it only uses 127.0.0.1.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	pairs := flag.Int("pairs", 5000, "connections to hold (each is two sockets)")
	procs := flag.Int("procs", 2, "processes to spread them over")
	port := flag.Int("port", 20000, "first listening port on 127.0.0.1")
	child := flag.Int("child", -1, "internal: run as child with this index")
	flag.Parse()
	if *child >= 0 {
		if err := hold(*pairs, *port+*child); err != nil {
			fmt.Fprintf(os.Stderr, "sockets child %d: %v\n", *child, err)
			os.Exit(1)
		}
		return
	}
	if *procs < 1 || *pairs < 1 || *pairs / *procs > 9000 {
		fmt.Fprintln(os.Stderr, "sockets: need procs >= 1 and at most 9000 pairs per process (open-file limit)")
		os.Exit(2)
	}
	var ins []io.WriteCloser
	var cmds []*exec.Cmd
	for i := 0; i < *procs; i++ {
		n := *pairs / *procs
		if i < *pairs%*procs {
			n++
		}
		cmd := exec.Command("/proc/self/exe", "-child", strconv.Itoa(i), "-pairs", strconv.Itoa(n), "-port", strconv.Itoa(*port))
		cmd.Args[0] = "sockets-" + strconv.Itoa(i)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "sockets: %v\n", err)
			os.Exit(1)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			fmt.Fprintf(os.Stderr, "sockets: child %d failed\n", i)
			os.Exit(1)
		}
		ins, cmds = append(ins, in), append(cmds, cmd)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for i := range cmds {
		ins[i].Close()
		cmds[i].Wait()
	}
}

func hold(pairs, port int) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	ap := netip.MustParseAddrPort("127.0.0.1:" + strconv.Itoa(port))
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	unix.SetsockoptInt(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(l, sa); err != nil {
		return fmt.Errorf("binding %v: %w", ap, err)
	}
	if err := unix.Listen(l, 4096); err != nil {
		return err
	}
	for i := 0; i < pairs; i++ {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
		if err != nil {
			return fmt.Errorf("socket %d: %w", i, err)
		}
		if err := unix.Connect(c, sa); err != nil {
			return fmt.Errorf("connect %d: %w", i, err)
		}
		if _, _, err := unix.Accept(l); err != nil {
			return fmt.Errorf("accept %d: %w", i, err)
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return nil
}
