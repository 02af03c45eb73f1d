package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/tracer"
)

// A window is one stretch of a toggled run with the tracer in one mode.
type window struct {
	mode     string // "off", "attached" (in this process, not read), "reading" (a consumer process)
	conns    uint64
	dur, cpu time.Duration // wall time; this process's CPU (user+sys)
	consumer string        // the consumer's result line, for "reading"
}

func (w window) rate() float64 { return float64(w.conns) / w.dur.Seconds() }

// toggle generates load at full speed for dur while the tracer is switched
// on and off every win, through the modes in on: off, attached (in this
// process, not read), off, reading (a consumer process), off, attached...
// Throughput on a shared host drifts by tens of percent over minutes but
// little over a few seconds, so each on window is compared with the mean
// of the off windows on either side of it. Attaching and detaching fall
// between windows, not in them.
func toggle(dur, win time.Duration, workers, ring int, on []string) error {
	for _, m := range on {
		if m != "attached" && m != "reading" {
			return fmt.Errorf("unknown tracer mode %q (want attached or reading)", m)
		}
	}
	if dur < 3*win+2*time.Second {
		return fmt.Errorf("-d %v leaves no room for an on window between two off windows of %v", dur, win)
	}
	ln, err := serve()
	if err != nil {
		return err
	}
	defer ln.Close()
	var conns, failed atomic.Uint64
	end := time.Now().Add(dur)
	var lw sync.WaitGroup
	for range workers {
		lw.Add(1)
		go func() {
			defer lw.Done()
			connect(ln.Addr().String(), 0, end, &conns, &failed)
		}()
	}
	defer lw.Wait()

	var ws []window
	for i := 0; time.Until(end) > win+2*time.Second; i++ {
		mode := "off"
		if i%2 == 1 {
			mode = on[(i/2)%len(on)]
		}
		w, err := measure(mode, win, ring, &conns)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "window %d %s rate=%.0f/s cpu_per_conn=%v %s\n", i, w.mode, w.rate(), w.cpu/time.Duration(max(w.conns, 1)), w.consumer)
		ws = append(ws, w)
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d connections failed", failed.Load())
	}
	report(ws)
	return nil
}

// measure runs one window in mode: sets the tracer up, counts
// connections and CPU for win, then tears it down.
func measure(mode string, win time.Duration, ring int, conns *atomic.Uint64) (window, error) {
	w := window{mode: mode}
	var stop func() (string, error)
	switch mode {
	case "attached":
		tr, err := tracer.New(tracer.Options{RingSize: ring})
		if err != nil {
			return w, err
		}
		stop = func() (string, error) { return fmt.Sprintf("lost=%d", tr.Lost()), tr.Close() }
	case "reading":
		cmd := exec.Command(os.Args[0], "-load=false", "-trace", "-ready", "-d", win.String(), "-ring", fmt.Sprint(ring))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return w, err
		}
		if err := cmd.Start(); err != nil {
			return w, err
		}
		sc := bufio.NewScanner(out)
		if !sc.Scan() || sc.Text() != "ready" {
			cmd.Wait()
			return w, fmt.Errorf("consumer did not start: %q", sc.Text())
		}
		stop = func() (string, error) {
			var line string
			if sc.Scan() {
				line = sc.Text()
			}
			return line, cmd.Wait()
		}
	}
	c0, t0, cpu0 := conns.Load(), time.Now(), rusage()
	time.Sleep(win)
	w.conns, w.dur, w.cpu = conns.Load()-c0, time.Since(t0), rusage()-cpu0
	if stop != nil {
		line, err := stop()
		if err != nil {
			return w, fmt.Errorf("%s window: %w", mode, err)
		}
		// The consumer's own fields, prefixed: "tracer=consumer ... cpu=X events=N lost=L ..."
		if i := strings.Index(line, " cpu="); i >= 0 {
			line = line[i+1:]
		}
		w.consumer = line
	}
	return w, nil
}

func rusage() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report prints, per on mode, the median over its windows of the rate's
// change against the mean of the off windows either side, and the same
// for CPU per connection.
func report(ws []window) {
	type acc struct{ rate, cpu []float64 }
	by := map[string]*acc{}
	var modes []string
	for i := 1; i+1 < len(ws); i++ {
		w, a, b := ws[i], ws[i-1], ws[i+1]
		if w.mode == "off" || a.mode != "off" || b.mode != "off" {
			continue
		}
		base := (a.rate() + b.rate()) / 2
		perConn := func(w window) float64 { return float64(w.cpu) / float64(max(w.conns, 1)) }
		baseCPU := (perConn(a) + perConn(b)) / 2
		if by[w.mode] == nil {
			by[w.mode] = &acc{}
			modes = append(modes, w.mode)
		}
		by[w.mode].rate = append(by[w.mode].rate, (w.rate()/base-1)*100)
		by[w.mode].cpu = append(by[w.mode].cpu, perConn(w)-baseCPU)
	}
	var off []float64
	for _, w := range ws {
		if w.mode == "off" {
			off = append(off, w.rate())
		}
	}
	fmt.Printf("tracer=toggle windows=%d off_rate=%.0f/s", len(ws), median(off))
	for _, m := range modes {
		fmt.Printf(" %s_pairs=%d %s_change=%.1f%% %s_cpu_per_conn=%+.2fµs %s_changes=%s",
			m, len(by[m].rate), m, median(by[m].rate), m, median(by[m].cpu)/1e3, m, join(by[m].rate))
	}
	fmt.Println()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func join(xs []float64) string {
	p := make([]string, len(xs))
	for i, x := range xs {
		p[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(p, ",")
}
