// Command bpfstat prints netstat output from an eBPF-maintained socket table.
package main

import "os"

func main() { os.Exit(run(os.Args)) }
