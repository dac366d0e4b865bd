package gates

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCheckParallelVsSequential measures the gates on the hello
// project run in parallel (one per CPU) against the same gates run one
// after another, in the same iteration so both see the same machine state.
// Run it with:
//
//	go test -run '^$' -bench CheckParallel -benchtime 5x ./internal/gates/
//
// Metrics: parallel-s and sequential-s are wall times; slowest-gate-s is
// the longest single gate in the sequential run (uncontended), named in
// the slowest-<gate> metric; ratio is parallel wall over slowest gate
// (1.0 is the floor: nothing can beat the slowest gate); speedup is
// sequential over parallel.
func BenchmarkCheckParallelVsSequential(b *testing.B) {
	py := needEveryTool(b)
	dir := copyProject(b, "hello")
	cfg := Config{
		Audit: AuditGate{OSVDB: osvDir(b)},
		Env:   EnvGate{Required: []string{"PATH"}},
	}
	opts := Options{AppDir: dir, Python: py, Start: "gunicorn app:application"}
	run := func(parallel int) (*Report, time.Duration) {
		c := cfg
		c.Parallel = parallel
		start := time.Now()
		rep, err := Run(context.Background(), c, opts)
		if err != nil {
			b.Fatal(err)
		}
		return rep, time.Since(start)
	}
	run(0) // warm the page cache and Python's imports

	var par, seq, slowest time.Duration
	slowestName := ""
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, p := run(0)
		rep, s := run(1)
		par += p
		seq += s
		iterSlow, name := time.Duration(0), ""
		for _, g := range rep.Gates {
			if g.Duration > iterSlow {
				iterSlow, name = g.Duration, g.Name
			}
		}
		slowest += iterSlow
		slowestName = name
	}
	n := float64(b.N)
	b.ReportMetric(par.Seconds()/n, "parallel-s")
	b.ReportMetric(seq.Seconds()/n, "sequential-s")
	b.ReportMetric(slowest.Seconds()/n, "slowest-gate-s")
	b.ReportMetric(1, "slowest-"+slowestName)
	b.ReportMetric(par.Seconds()/slowest.Seconds(), "ratio")
	b.ReportMetric(seq.Seconds()/par.Seconds(), "speedup")
	b.ReportMetric(0, "ns/op")
}
