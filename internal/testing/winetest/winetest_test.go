package winetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

const helloPkg = "github.com/ferryhq/ferry/internal/testing/winetest/testdata/hello"

type helloOut struct {
	Args []string `json:"args"`
	Env  string   `json:"env"`
	Cwd  string   `json:"cwd"`
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestGoNeedsTheShim(t *testing.T) {
	w := Shared(t)
	exe := Build(t, helloPkg)
	// Disabling the DLL shows what an unshimmed Wine 8 does to a Go 1.24+
	// program: the runtime dies before main.
	res, err := w.Run(ctx(t), exe, nil, RunOptions{Env: []string{"WINEDLLOVERRIDES=" + DLLOverrides + ";bcryptprimitives="}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || !strings.Contains(string(res.Stderr), "bcryptprimitives") {
		t.Fatalf("without the shim: exit %d, stderr %q; want a failure naming bcryptprimitives.dll", res.ExitCode, res.Stderr)
	}
	res, err = w.Run(ctx(t), exe, nil, RunOptions{})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("with the shim: exit %d err %v stderr %q", res.ExitCode, err, res.Stderr)
	}
}

func TestRunArgsEnvDirExitCode(t *testing.T) {
	w := Shared(t)
	t.Logf("wine %s; setup: template %v, copy %v, warm-up %v", w.Version, w.Timings.Template, w.Timings.Copy, w.Timings.Warmup)
	exe := Build(t, helloPkg)
	dir := t.TempDir()
	var runs []time.Duration
	for i := 0; i < 3; i++ {
		res, err := w.Run(ctx(t), exe, []string{"-exit", "7", "a b", `c"d`}, RunOptions{Env: []string{"HELLO_VALUE=forty two"}, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, res.Elapsed)
		if res.ExitCode != 7 {
			t.Fatalf("exit code %d, want 7 (stderr %q)", res.ExitCode, res.Stderr)
		}
		var out helloOut
		if err := json.Unmarshal(res.Stdout, &out); err != nil {
			t.Fatalf("stdout %q: %v", res.Stdout, err)
		}
		if strings.Join(out.Args, "|") != `a b|c"d` || out.Env != "forty two" {
			t.Fatalf("arguments or environment garbled: %+v", out)
		}
		if !strings.EqualFold(out.Cwd, WinPath(dir)) {
			t.Fatalf("cwd %q, want %q", out.Cwd, WinPath(dir))
		}
		if strings.TrimSpace(string(res.Stderr)) != "to stderr" {
			t.Fatalf("stderr %q", res.Stderr)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	t.Logf("one hello run under wine: median %v (of %v)", runs[len(runs)/2], runs)
}

func TestMapDrive(t *testing.T) {
	w := Shared(t)
	exe := Build(t, helloPkg)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "Apps", "Billing"), 0o755); err != nil {
		t.Fatal(err)
	}
	drive := w.MapDrive(t, root)
	if len(drive) != 2 || drive[1] != ':' {
		t.Fatalf("drive %q", drive)
	}
	target := drive + `\Apps\Billing\out.txt`
	res, err := w.Run(ctx(t), exe, []string{"-write", target}, RunOptions{})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exit %d err %v stderr %q", res.ExitCode, err, res.Stderr)
	}
	b, err := os.ReadFile(filepath.Join(root, "Apps", "Billing", "out.txt"))
	if err != nil || string(b) != "written by hello\n" {
		t.Fatalf("file written through %s not found on the Linux side: %q %v", target, b, err)
	}
	second := w.MapDrive(t, t.TempDir())
	if second == drive {
		t.Fatalf("two mappings got the same drive %s", drive)
	}
}

func TestWinPath(t *testing.T) {
	if got := WinPath("/tmp/a b/c"); got != `Z:\tmp\a b\c` {
		t.Fatalf("WinPath = %q", got)
	}
}

// recorder captures what require decides without ending the real test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(args ...any)      { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any)     { r.failed = fmt.Sprint(args...) }
func (r *recorder) Fatalf(string, ...any) { r.failed = "fatalf" }

func TestRequire(t *testing.T) {
	for _, c := range []struct {
		goos       string
		missing    []string
		ci         bool
		skip, fail string
	}{
		{"linux", nil, true, "", ""},
		{"linux", []string{"wine64"}, false, "wine64 is not installed", ""},
		{"linux", []string{"wine64"}, true, "", "wine64 is not installed (CI=true: Wine tests must run)"},
		{"linux", []string{"wine64", MingwCC + " (gcc-mingw-w64-x86-64)"}, false, "wine64 and x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64) are not installed", ""},
		{"darwin", []string{"wine64"}, true, "wine tests run on linux only", ""},
	} {
		r := &recorder{TB: t}
		require(r, c.goos, c.missing, c.ci)
		if r.skipped != c.skip || r.failed != c.fail {
			t.Errorf("require(%s, %v, ci=%v): skipped %q failed %q; want %q %q", c.goos, c.missing, c.ci, r.skipped, r.failed, c.skip, c.fail)
		}
	}
}
