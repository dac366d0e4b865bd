package gates

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// badPython fails every linter: an unused import, bad style, a shell
// injection and eval for bandit; brokenPython does not parse.
const (
	badPython    = "import os, subprocess\ndef f(x):\n  subprocess.call(x, shell=True)\n  return eval(x)\n"
	brokenPython = "def broken(:\n    pass\n"
	badTest      = "def test_fails():\n    assert False\n"
	badConftest  = "raise RuntimeError('an ignored directory was collected')\n"
	revision     = "0123456789abcdef0123456789abcdef01234567\n"
)

// junkRoots are the trees addJunk writes, relative to the app: what a local
// deploy leaves (.ferry/), the same under a root without a dot (deploy/,
// found only by the markers), build output, and a venv nested in a package.
var junkRoots = []string{
	".ferry", "deploy/releases/20240101T000000Z-0123456789ab", "deploy/venvs/0123456789abcdef0123",
	"build", "dist", "node_modules", "helpers/vendor_env",
}

// addJunk writes what must never count into the app: bad Python, failing
// tests and a conftest that raises, in every kind of ignored directory.
func addJunk(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{}
	bad := func(root string) {
		files[root+"/bad.py"] = badPython
		files[root+"/broken.py"] = brokenPython
		files[root+"/test_bad.py"] = badTest
		files[root+"/conftest.py"] = badConftest
		files[root+"/pkg/__init__.py"] = badPython
	}
	venv := ".ferry/local/venvs/0123456789abcdef0123"
	files[venv+"/.ferry-complete"] = ""
	files[venv+"/pyvenv.cfg"] = "home = /usr/bin\n"
	bad(venv + "/lib/python3.11/site-packages")
	release := ".ferry/local/releases/20240101T000000Z-0123456789ab"
	files[release+"/REVISION"] = revision
	bad(release)
	files[junkRoots[1]+"/REVISION"] = revision
	bad(junkRoots[1])
	files[junkRoots[2]+"/.ferry-complete"] = ""
	bad(junkRoots[2] + "/lib/python3.11/site-packages")
	for _, root := range []string{"build/lib", "dist", "node_modules/left-pad"} {
		bad(root)
	}
	files["helpers/vendor_env/pyvenv.cfg"] = "home = /usr/bin\n"
	bad("helpers/vendor_env/lib")
	writeFiles(t, dir, files)
}

// TestIgnoredDirectoriesChangeNothing runs every gate on an app with a
// real venv, then again after a local deploy's .ferry/ and every other kind
// of ignored directory, full of bad Python, were added: each gate's result
// must be the same, and the tools' own output and command lines show they
// never went into those trees.
func TestIgnoredDirectoriesChangeNothing(t *testing.T) {
	t.Parallel()
	flake8 := testtool.Need(t, "flake8")
	needEveryTool(t)
	dir, _ := venvApp(t)
	cfg := only(GateTests, GateAudit, GateFlake8, GatePylint, GateBandit, GateSmoke, GateDeps)
	cfg.Audit.OSVDB = osvDir(t)
	cfg.Flake8.Args = []string{"-vv"} // flake8 logs every path it considers
	opts := Options{AppDir: dir, Start: "gunicorn app:application"}

	var mu sync.Mutex
	var ran []toolRun
	execTraces.Store(dir, func(argv []string, res procResult) {
		mu.Lock()
		defer mu.Unlock()
		out := res.Output
		// flake8 -v logs into its --output-file, which is still there.
		for _, a := range argv {
			if f, ok := strings.CutPrefix(a, "--output-file="); ok && isFlake8(argv) {
				data, _ := os.ReadFile(f)
				out += string(data)
			}
		}
		ran = append(ran, toolRun{argv, out})
	})
	t.Cleanup(func() { execTraces.Delete(dir) })

	before := mustRun(t, cfg, opts)
	mu.Lock()
	flake8Before := flake8Checked(t, ran)
	ran = nil
	mu.Unlock()

	addJunk(t, dir)
	// The junk is what the gates would fail on, had they read it.
	if out, err := exec.Command(flake8, filepath.Join(dir, "build", "lib", "bad.py")).CombinedOutput(); err == nil {
		t.Fatalf("flake8 finds nothing in the junk:\n%s", out)
	}
	after := mustRun(t, cfg, opts)

	for _, b := range before.Gates {
		a := gateOf(t, after, b.Name)
		if a.Status != b.Status || a.Summary != b.Summary || !reflect.DeepEqual(a.Findings, b.Findings) ||
			!reflect.DeepEqual(a.Figures, b.Figures) || !reflect.DeepEqual(caseNames(a), caseNames(b)) {
			t.Errorf("%s changed with the ignored directories:\nbefore %s %q %v %v\nafter  %s %q %v %v\noutput:\n%s",
				b.Name, b.Status, b.Summary, b.Figures, b.Findings, a.Status, a.Summary, a.Figures, a.Findings, a.Output)
		}
	}
	for _, name := range []string{GateTests, GateSmoke, GateFlake8, GatePylint, GateBandit, GateAudit} {
		wantStatus(t, gateOf(t, after, name), StatusPassed)
	}

	// flake8 checked as many files, and no tool's output names a file
	// inside the trees (flake8 -vv logs each path it considers).
	mu.Lock()
	defer mu.Unlock()
	if n := flake8Checked(t, ran); n != flake8Before {
		t.Errorf("flake8 checked %s files with the ignored directories, %s without", n, flake8Before)
	}
	for _, r := range ran {
		for _, line := range strings.Split(r.out, "\n") {
			for _, root := range junkRoots {
				if strings.Contains(line, root+"/") || strings.Contains(line, root+`\`) {
					t.Errorf("%s looked inside %s: %s", firstWord(r.argv), root, line)
				}
			}
		}
	}
	// No tool but flake8 (whose output above shows it prunes them) was
	// given the app directory or a path holding or inside the trees:
	// bandit and pylint read whatever they are given.
	for _, r := range ran {
		argv := r.argv
		if isFlake8(argv) {
			continue
		}
		for _, arg := range argv[1:] {
			p := arg
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			rel, err := filepath.Rel(dir, p)
			if strings.HasPrefix(arg, "-") || err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				continue
			}
			rel = filepath.ToSlash(rel)
			for _, root := range junkRoots {
				if rel == "." || rel == root || strings.HasPrefix(rel, root+"/") || strings.HasPrefix(root, rel+"/") {
					t.Errorf("%s was given %s, which holds or lies in %s", firstWord(argv), arg, root)
				}
			}
		}
	}
}

// toolRun is one tool a run started, and what it printed.
type toolRun struct {
	argv []string
	out  string
}

var flake8CheckingRe = regexp.MustCompile(`Checking (\d+) files`)

// flake8Checked reads "Checking N files" from flake8's -vv output.
func flake8Checked(t *testing.T, ran []toolRun) string {
	t.Helper()
	for _, r := range ran {
		if isFlake8(r.argv) {
			if m := flake8CheckingRe.FindStringSubmatch(r.out); m != nil {
				return m[1]
			}
			t.Fatalf("no file count in flake8's verbose output:\n%s", r.out)
		}
	}
	t.Fatal("flake8 did not run")
	return ""
}

// isFlake8 tells flake8's command line (its program, or python -m flake8).
func isFlake8(argv []string) bool {
	return filepath.Base(argv[0]) == "flake8" || len(argv) > 2 && argv[1] == "-m" && argv[2] == "flake8"
}

// firstWord names a tool's command line in messages.
func firstWord(argv []string) string {
	if len(argv) > 2 && argv[1] == "-m" {
		return argv[2]
	}
	return filepath.Base(argv[0])
}
func caseNames(r Result) []string {
	var names []string
	for _, c := range r.Tests {
		names = append(names, c.Classname+"::"+c.Name+"="+c.Status)
	}
	return names
}
