// Package placeholder is the kernel matrix's canary, and stood in for the
// tracer's integration tests while test/kernels/run.sh was built: its
// TestIntegration loads one tiny BPF program per attach strategy (no clang
// needed), attaches it to the TCP state-change hook that strategy uses,
// makes loopback connections in a private network namespace and checks that
// the program ran. It proves a kernel can run every hook, independently of
// the tracer: KMATRIX_TESTPKG=./test/kernels/placeholder test/kernels/run.sh.
//
// Like the tracer's tests, it honours BPFSTAT_STRATEGY: when set, only that
// strategy is tried, and a strategy the kernel refuses is reported with
// t.Skipf("strategy %s ruled out: %v"), which run.sh turns into a matrix cell.
package placeholder
