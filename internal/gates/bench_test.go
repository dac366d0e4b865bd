package gates

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkCheckParallelVsSequential measures the gates on the hello
// project run in parallel (one per CPU) against the same gates run one
// after another, in the same iteration so both see the same machine state
// (which of the two goes first alternates).
// Run it with:
//
//	go test -run '^$' -bench CheckParallel -benchtime 5x ./internal/gates/
//
// Metrics, per iteration: parallel-s and sequential-s are wall times;
// slowest-gate-s is the longest single gate in the sequential run
// (uncontended), named in the slowest-<gate> metric; sum-gates-s adds up
// the sequential run's gates; floor-s is max(slowest gate, sum of gates ÷
// cores), what no schedule on this machine can beat; floor-ratio is
// parallel wall over floor-s (1.0 is perfect; ferry aims at 1.1 or less);
// ratio is parallel wall over the slowest gate; speedup is sequential
// over parallel; parallel-cpu-s and sequential-cpu-s are the processor
// time the tools used (user and system), which tells contention that
// costs work (more CPU in parallel) from contention that only shares the
// cores (the same CPU, a longer wall). The log lists each gate's sequential time and its start
// order in the parallel run, to compare with the registered costs.
func BenchmarkCheckParallelVsSequential(b *testing.B) {
	py := needEveryTool(b)
	dir := copyProject(b, "hello")
	cfg := Config{
		Audit: AuditGate{OSVDB: osvDir(b)},
		Env:   EnvGate{Required: []string{"PATH"}},
	}
	cores := runtime.NumCPU()
	var cpuMu sync.Mutex
	var cpu time.Duration
	execTraces.Store(dir, func(_ []string, res procResult) {
		cpuMu.Lock()
		cpu += res.CPU
		cpuMu.Unlock()
	})
	b.Cleanup(func() { execTraces.Delete(dir) })
	takeCPU := func() time.Duration {
		cpuMu.Lock()
		defer cpuMu.Unlock()
		c := cpu
		cpu = 0
		return c
	}
	run := func(parallel int, order *[]string) (*Report, time.Duration) {
		c := cfg
		c.Parallel = parallel
		opts := Options{AppDir: dir, Python: py, Start: "gunicorn app:application"}
		if order != nil {
			opts.Progress = func(e Event) {
				if e.Kind == EventStarted {
					*order = append(*order, e.Gate)
				}
			}
		}
		start := time.Now()
		rep, err := Run(context.Background(), c, opts)
		if err != nil {
			b.Fatal(err)
		}
		return rep, time.Since(start)
	}
	run(0, nil) // warm the page cache and Python's imports
	takeCPU()

	var par, seq, slowest, sum, floor, parCPU, seqCPU time.Duration
	slowestName := ""
	perGate := map[string]time.Duration{}
	var order []string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Every other iteration runs the sequential check first, so a
		// change in the machine's load biases neither side.
		var rep *Report
		var p, s time.Duration
		order = order[:0]
		if i%2 == 1 {
			rep, s = run(1, nil)
			seqCPU += takeCPU()
		}
		_, p = run(0, &order)
		parCPU += takeCPU()
		if i%2 == 0 {
			rep, s = run(1, nil)
			seqCPU += takeCPU()
		}
		par += p
		seq += s
		iterSlow, iterSum, name := time.Duration(0), time.Duration(0), ""
		for _, g := range rep.Gates {
			iterSum += g.Duration
			perGate[g.Name] += g.Duration
			if g.Duration > iterSlow {
				iterSlow, name = g.Duration, g.Name
			}
		}
		slowest += iterSlow
		sum += iterSum
		floor += max(iterSlow, iterSum/time.Duration(cores))
		slowestName = name
	}
	n := float64(b.N)
	b.ReportMetric(par.Seconds()/n, "parallel-s")
	b.ReportMetric(seq.Seconds()/n, "sequential-s")
	b.ReportMetric(slowest.Seconds()/n, "slowest-gate-s")
	b.ReportMetric(1, "slowest-"+slowestName)
	b.ReportMetric(sum.Seconds()/n, "sum-gates-s")
	b.ReportMetric(floor.Seconds()/n, "floor-s")
	b.ReportMetric(par.Seconds()/floor.Seconds(), "floor-ratio")
	b.ReportMetric(par.Seconds()/slowest.Seconds(), "ratio")
	b.ReportMetric(seq.Seconds()/par.Seconds(), "speedup")
	b.ReportMetric(parCPU.Seconds()/n, "parallel-cpu-s")
	b.ReportMetric(seqCPU.Seconds()/n, "sequential-cpu-s")
	b.ReportMetric(0, "ns/op")

	names := make([]string, 0, len(perGate))
	for name := range perGate {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return perGate[names[i]] > perGate[names[j]] })
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.3fs", name, perGate[name].Seconds()/n))
	}
	b.Logf("cores %d; sequential gate times, longest first: %s", cores, strings.Join(parts, ", "))
	b.Logf("parallel start order (last iteration): %s", strings.Join(order, ", "))
}
