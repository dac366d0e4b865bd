package pyenv

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/testing/benchpair"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// BenchmarkNewVenv makes a new venv with python3 on PATH the way Create
// does (without pip, filled by the base pip) against the way it did
// (python -m venv, ensurepip) in interleaved pairs. ratio is Create's
// median over ensurepip's; create-ms is the figure the target (1.5 s)
// is about.
func BenchmarkNewVenv(b *testing.B) {
	python := testtool.Need(b, "python3")
	dir := b.TempDir()
	ctx := context.Background()
	i := 0
	make := func(f func(string) error) func() time.Duration {
		return func() time.Duration {
			i++
			venv := filepath.Join(dir, fmt.Sprint(i))
			return benchpair.Time(func() {
				if err := f(venv); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
	old := make(func(v string) error { return viaEnsurepip(ctx, python, v, nil) })
	cur := make(func(v string) error { return Create(ctx, python, v, false) })
	base, subj := benchpair.Pairs(b, old, cur)
	benchpair.Report(b, "ensurepip", base, "create", subj)
}
