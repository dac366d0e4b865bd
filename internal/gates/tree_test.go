package gates

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScanTree: what the walk leaves out, by name at any depth and by the
// markers of a virtualenv, a ferry venv and a ferry release, and what it
// keeps: a REVISION that is the app's own, not a commit.
func TestScanTree(t *testing.T) {
	app := t.TempDir()
	writeFiles(t, app, map[string]string{
		"app.py": "", "pkg/__init__.py": "", "pkg/node_modules/x/y.py": "", "pkg/sub/__init__.py": "",
		"pkg/sub/__pycache__/m.pyc": "",
		"myenv/pyvenv.cfg":          "", "myenv/lib/site.py": "",
		"deploy/venvs/k1/.ferry-complete": "", "deploy/venvs/k1/lib/x.py": "",
		"deploy/releases/r1/REVISION": revision, "deploy/releases/r1/app.py": "",
		"deploy/releases/r2/REVISION": strings.Repeat("ab", 32) + "\n", // SHA-256
		"docs/REVISION":               "2.1 (the docs' own revision)\n", "docs/conf.py": "",
		".ferry/local/venvs/k/pyvenv.cfg": "",
		"build/lib/x.py":                  "", "dist/x.py": "", "x.egg-info/PKG-INFO": "",
		"src/flaskr/__init__.py": "", "src/cli.py": "", "src/flaskr/build/gen.py": "",
		"tests/test_x.py": "",
	})
	tree, err := scanTree(app)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".ferry", "build", "deploy/releases/r1", "deploy/releases/r2", "deploy/venvs/k1", "dist",
		"myenv", "pkg/node_modules", "pkg/sub/__pycache__", "src/flaskr/build", "x.egg-info"}
	if !reflect.DeepEqual(tree.skipped, want) {
		t.Errorf("skipped %v\nwant    %v", tree.skipped, want)
	}
	if got, want := tree.markedSkips(), []string{"deploy/releases/r1", "deploy/releases/r2", "deploy/venvs/k1", "myenv"}; !reflect.DeepEqual(got, want) {
		t.Errorf("marked %v, want %v", got, want)
	}
	for rel, skipped := range map[string]bool{"build": true, "build/lib/x.py": true, "buildx": false, "pkg": false,
		"pkg/node_modules/x": true, "docs": false, "deploy": false, "deploy/releases/r1/app.py": true} {
		if tree.isSkipped(rel) != skipped {
			t.Errorf("isSkipped(%s) = %v", rel, !skipped)
		}
	}
	l := tree.layout
	if l.Src != "src" || !reflect.DeepEqual(l.SrcPackages, []string{"src/flaskr"}) || !reflect.DeepEqual(l.SrcFiles, []string{"src/cli.py"}) {
		t.Errorf("src layout: %+v", l)
	}
	if want := []string{"app", "cli", "pkg", "flaskr"}; !reflect.DeepEqual(l.appModules(), want) {
		t.Errorf("app modules %v, want %v", l.appModules(), want)
	}
	// deploy/ holds Python only inside what is skipped.
	if want := []string{"docs", "src", "tests"}; !reflect.DeepEqual(l.Dirs, want) {
		t.Errorf("dirs %v, want %v", l.Dirs, want)
	}

	// Targets stop short of what is skipped; __pycache__ holds no source
	// and does not make its package expand.
	got := tree.avoid([]string{".", "pkg", "docs", "build/lib", filepath.Join(app, "src")}, isPythonFile, anyDir)
	want = []string{
		// "." expanded: the skipped are gone, and deploy/, expanded down
		// to its releases and venvs, left nothing.
		"app.py", "docs", "pkg/__init__.py", "pkg/sub", "src/cli.py", "src/flaskr/__init__.py", "tests",
		// "pkg", "docs" as given or expanded; build/lib dropped; src expanded.
		"pkg/__init__.py", "pkg/sub", "docs", "src/cli.py", "src/flaskr/__init__.py",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("avoid\n got %v\nwant %v", got, want)
	}
}

// TestCoberturaLeavesOutSkippedFiles: a file of an ignored directory that
// the tests happened to run does not count in the coverage figure.
func TestCoberturaLeavesOutSkippedFiles(t *testing.T) {
	app := t.TempDir()
	writeFiles(t, app, map[string]string{"app.py": "", "build/lib/gen.py": ""})
	tree, err := scanTree(app)
	if err != nil {
		t.Fatal(err)
	}
	report := `<?xml version="1.0" ?>
<coverage line-rate="0.25" lines-valid="8" lines-covered="2">
 <sources><source>` + app + `</source></sources>
 <packages><package name="."><classes>
  <class filename="app.py"><lines><line number="1" hits="1"/><line number="2" hits="1"/><line number="3" hits="0"/><line number="4" hits="0"/></lines></class>
 </classes></package>
 <package name="build.lib"><classes>
  <class filename="build/lib/gen.py"><lines><line number="1" hits="0"/><line number="2" hits="0"/><line number="3" hits="0"/><line number="4" hits="0"/></lines></class>
 </classes></package></packages>
</coverage>`
	for _, tc := range []struct {
		tree *appTree
		want float64
	}{{nil, 25}, {tree, 50}} {
		got, err := parseCobertura(strings.NewReader(report), tc.tree)
		if err != nil || got != tc.want {
			t.Errorf("coverage %v, %v; want %v", got, err, tc.want)
		}
	}
}
