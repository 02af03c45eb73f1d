package main

import (
	"os"
	"runtime/pprof"
)

func main() {
	if path := os.Getenv("BPFSTAT_CPUPROFILE"); path != "" {
		// Profiling hook for bench work: a CPU profile of this run.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			rc := run(os.Args)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(rc)
		}
	}
	os.Exit(run(os.Args))
}
