// Command bench runs ferry's benchmark suite (docs/benchmarks.md) and
// prints one table: each benchmark, its ratio against the baseline it
// measured in the same run, its other figures, and the load average
// before and after (other work on the machine moves every figure).
//
//	go run ./internal/testing/bench [-n N] [-run REGEXP]
//
// Each benchmark is an ordinary `go test -bench` function; this command
// only runs them one package after another and gathers their metrics.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"text/tabwriter"
)

// suite is every benchmark, by package, with how many iterations the
// default run gives it (-n overrides): slow ones fewer.
var suite = []struct {
	pkg, bench string
	n          int
}{
	{"./internal/testing/bench", "^BenchmarkStartup$", 200},
	{"./internal/testing/bench", "^BenchmarkAgentSize$", 1},
	{"./internal/testing/bench", "^BenchmarkDeployProcess$", 20},
	{"./internal/agent", "^BenchmarkDeploy$", 20},
	{"./internal/agent", "^BenchmarkPrune$", 6},
	{"./internal/pyenv", "^BenchmarkNewVenv$", 3},
	{"./internal/gates", "^BenchmarkCheckParallelVsSequential$", 3},
	{"./internal/transport/ssm", "^BenchmarkFleet$", 3},
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

func main() {
	n := flag.Int("n", 0, "iterations of every benchmark (default: each its own)")
	run := flag.String("run", "", "only benchmarks whose name matches this regular expression")
	flag.Parse()
	var filter *regexp.Regexp
	if *run != "" {
		filter = regexp.MustCompile(*run)
	}
	before := loadavg()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\truns\tratio\tfigures")
	failed := false
	for _, s := range suite {
		if filter != nil && !filter.MatchString(s.bench) {
			continue
		}
		iters := s.n
		if *n > 0 {
			iters = *n
		}
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", s.bench, "-benchtime", fmt.Sprintf("%dx", iters), "-timeout", "60m", s.pkg)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		fmt.Fprintf(os.Stderr, "running %s %s (%dx)\n", s.pkg, s.bench, iters)
		err := cmd.Run()
		found := false
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			m := line.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			found = true
			ratio, figures := "", []string{}
			f := strings.Fields(m[3])
			for i := 0; i+1 < len(f); i += 2 {
				switch f[i+1] {
				case "ratio":
					ratio = f[i]
				case "ns/op":
				default:
					figures = append(figures, f[i]+" "+f[i+1])
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m[1], m[2], ratio, strings.Join(figures, ", "))
		}
		if err != nil || !found {
			failed = true
			fmt.Fprintf(tw, "%s %s\t-\tfailed\t%v\n", s.pkg, s.bench, err)
			fmt.Fprintf(os.Stderr, "%s", out.String())
		}
	}
	tw.Flush()
	fmt.Printf("load average before: %s; after: %s (cores: see nproc)\n", before, loadavg())
	if failed {
		os.Exit(1)
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
