// Command bench runs ferry's benchmark suite (docs/benchmarks.md) and
// prints one table: each benchmark, its ratio against the baseline it
// measured in the same run, its other figures, and the load average.
//
//	go run ./internal/testing/bench [-count N] [-run REGEXP]
package main

func main() {}
