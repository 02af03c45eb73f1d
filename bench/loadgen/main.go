// Command loadgen drives loopback TCP connections as fast as asked, with or
// without bpfstat's tracer attached in-process, and prints one result line
// per run: connections per second, events seen, events lost, and the event
// latency (time from the kernel hook to the reader) p50/p99.
//
// It is meant to run in a private network namespace (bench/tracer.sh does
// `unshare -n`); it connects to 127.0.0.1 only.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/tracer"
)

func main() {
	trace := flag.Bool("trace", false, "attach the tracer and consume its events")
	rate := flag.Int("rate", 0, "target connections per second (0: as fast as possible)")
	dur := flag.Duration("d", 5*time.Second, "how long to generate load")
	workers := flag.Int("w", 8, "concurrent client workers")
	strategy := flag.String("strategy", "", "pin the tracer's TCP state strategy")
	flag.IntVar(&ringSize, "ring", 0, "with -trace: ring buffer size in bytes (0: the tracer's default)")
	noRead = flag.Bool("noread", false, "with -trace: attach but do not read (kernel-side cost only)")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile here")
	doLoad = flag.Bool("load", true, "generate connections (-load=false -trace: only read events, as a separate consumer process)")
	tog := flag.Duration("toggle", 0, "switch the tracer on and off every this long while loading at full speed for -d; prints the change per mode")
	togModes := flag.String("modes", "attached,reading", "with -toggle: the tracer modes to alternate with off: attached (in process, not read), reading (a consumer process)")
	ready = flag.Bool("ready", false, "with -load=false: print \"ready\" once the tracer is attached")
	flag.IntVar(&exchange, "exchange", 0, "bytes of request and of response each connection carries before the server closes (0: none)")
	flag.Parse()
	if *tog > 0 {
		if err := toggle(*dur, *tog, *workers, ringSize, strings.Split(*togModes, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*trace, *rate, *dur, *workers, *strategy); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

var noRead, doLoad, ready *bool

var ringSize int

// exchange is the size of the request a client sends on each connection
// and of the server's reply (0: the server closes at once).
var exchange int

// monoNow is CLOCK_MONOTONIC in ns, as bpf_ktime_get_ns: one clock_gettime
// system call at start, then Go's monotonic clock (the same clock, read
// through the vDSO) so that timing each event costs no system call.
func monoNow() uint64 { return monoBase + uint64(time.Since(wallBase)) }

var monoBase, wallBase = func() (uint64, time.Time) {
	w0 := time.Now()
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	w1 := time.Now()
	return uint64(ts.Nano()), w0.Add(w1.Sub(w0) / 2)
}()

// serve listens on a loopback port and closes every connection it
// accepts, at once or after answering an exchange-byte request with as
// many bytes: the server closes first, so TIME_WAIT stays on its side.
func serve() (net.Listener, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if exchange == 0 {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				buf := make([]byte, exchange)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	return ln, nil
}

func run(trace bool, rate int, dur time.Duration, workers int, strategy string) error {
	ln, err := serve()
	if err != nil {
		return err
	}
	defer ln.Close()
	addr := ln.Addr().String()

	var tr *tracer.Tracer
	var events atomic.Uint64
	var lats []uint64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if trace {
		tr, err = tracer.New(tracer.Options{Strategy: strategy, RingSize: ringSize})
		if err != nil {
			return err
		}
		defer tr.Close()
		wg.Add(1)
		if *noRead {
			wg.Done()
		} else {
			go func() {
				defer wg.Done()
				// Latency is sampled (every 16th event): reading the clock
				// per event would cost the consumer more than decoding.
				// In batches, as the daemon reads them.
				var batch []tracer.Event
				for n := uint64(0); ; {
					var err error
					batch, err = tr.ReadBatch(ctx, batch[:0])
					for i := range batch {
						if n%16 == 0 {
							lats = append(lats, max(monoNow(), batch[i].Time)-batch[i].Time)
						}
						n++
					}
					events.Add(uint64(len(batch)))
					if err != nil {
						return
					}
				}
			}()
		}
	}

	var connMu sync.Mutex
	var connLat []time.Duration
	var ru0 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	cpu0 := time.Duration(ru0.Utime.Nano() + ru0.Stime.Nano())
	var conns atomic.Uint64
	var failed atomic.Uint64
	start := time.Now()
	end := start.Add(dur)
	var lw sync.WaitGroup
	if !*doLoad {
		workers = 0
		if *ready {
			fmt.Println("ready")
		}
		time.Sleep(dur)
	}
	for w := 0; w < workers; w++ {
		lw.Add(1)
		go func() {
			defer lw.Done()
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(int64(time.Second) * int64(workers) / int64(rate))
			}
			mine := connect(addr, interval, end, &conns, &failed)
			connMu.Lock()
			connLat = append(connLat, mine...)
			connMu.Unlock()
		}()
	}
	lw.Wait()
	elapsed := time.Since(start)
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if trace {
		time.Sleep(500 * time.Millisecond) // drain what is in flight
	}
	cancel()
	wg.Wait()

	n := conns.Load()
	slices.Sort(connLat)
	cq := func(q float64) time.Duration {
		if len(connLat) == 0 {
			return 0
		}
		return connLat[int(q*float64(len(connLat)-1))]
	}
	mode := "off"
	if !*doLoad {
		mode = "consumer"
	} else if trace && *noRead {
		mode = "attached"
	} else if trace {
		mode = "reading"
	}
	fmt.Printf("tracer=%s target=%d conns=%d failed=%d rate=%.0f/s conn_p50=%v conn_p99=%v cpu_per_conn=%v",
		mode, rate, n, failed.Load(), float64(n)/elapsed.Seconds(), cq(0.5), cq(0.99), (cpu-cpu0)/time.Duration(max(n, 1)))
	if trace {
		slices.Sort(lats)
		p := func(q float64) time.Duration {
			if len(lats) == 0 {
				return 0
			}
			return time.Duration(lats[int(q*float64(len(lats)-1))])
		}
		if !*doLoad {
			fmt.Printf(" cpu=%v", cpu-cpu0)
		}
		if !*noRead {
			fmt.Printf(" events=%d lost=%d ev_p50=%v ev_p99=%v ev_max=%v", events.Load(), tr.Lost(), p(0.50), p(0.99), p(1))
		} else {
			fmt.Printf(" lost=%d", tr.Lost())
		}
	}
	fmt.Println()
	return nil
}

// connect opens and closes connections to addr until end, one every
// interval (0: back to back), counting them in conns (failures in
// failed); it returns each connection's time from dial to close.
func connect(addr string, interval time.Duration, end time.Time, conns, failed *atomic.Uint64) []time.Duration {
	next := time.Now()
	buf := make([]byte, max(exchange, 1))
	var lat []time.Duration
	for time.Now().Before(end) {
		if interval > 0 {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
		t0 := time.Now()
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			failed.Add(1)
			continue
		}
		if exchange > 0 {
			if _, err := c.Write(buf[:exchange]); err != nil {
				failed.Add(1)
				c.Close()
				continue
			}
			if _, err := io.ReadFull(c, buf[:exchange]); err != nil {
				failed.Add(1)
				c.Close()
				continue
			}
		}
		io.ReadFull(c, buf[:1]) // EOF: the server closed
		c.Close()
		lat = append(lat, time.Since(t0))
		conns.Add(1)
	}
	return lat
}
