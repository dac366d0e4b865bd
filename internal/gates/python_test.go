package gates

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

func touch(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestFindPython(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix layout")
	}
	app := t.TempDir()
	onPath := t.TempDir()
	touch(t, filepath.Join(onPath, "python3"), 0o755)

	// Nothing in the app: python3 from PATH.
	if got, err := findPython(app, "", onPath); err != nil || got != filepath.Join(onPath, "python3") {
		t.Errorf("PATH python: %s, %v", got, err)
	}
	// venv/ beats PATH, .venv/ beats venv/.
	touch(t, filepath.Join(app, "venv", "bin", "python"), 0o755)
	if got, _ := findPython(app, "", onPath); got != filepath.Join(app, "venv", "bin", "python") {
		t.Errorf("venv python: %s", got)
	}
	touch(t, filepath.Join(app, ".venv", "bin", "python3"), 0o755)
	if got, _ := findPython(app, "", onPath); got != filepath.Join(app, ".venv", "bin", "python3") {
		t.Errorf(".venv python: %s", got)
	}
	// A given interpreter wins; a relative path is relative to the app.
	if got, _ := findPython(app, "venv/bin/python", onPath); got != filepath.Join(app, "venv", "bin", "python") {
		t.Errorf("given python: %s", got)
	}
	if _, err := findPython(app, "/nonexistent/python", onPath); err == nil {
		t.Error("a missing given interpreter is an error")
	}
	if _, err := findPython(t.TempDir(), "", t.TempDir()); err == nil {
		t.Error("no interpreter anywhere is an error")
	}
	// A file without the execute bit is not a tool.
	touch(t, filepath.Join(onPath, "flake8"), 0o644)
	if _, err := (&runEnv{toolEnv: envMap{"PATH": onPath}}).findTool("flake8"); err == nil {
		t.Error("a non-executable file was taken for a tool")
	}
}

func TestDiscoverSources(t *testing.T) {
	app := t.TempDir()
	for _, f := range []string{"app.py", "test_app.py", "setup.py", "conftest.py", "wsgi.py", "my-script.py",
		"pkg/__init__.py", "pkg/views.py", "tests/test_views.py", "scripts/tool.py", ".hidden/x.py",
		"node_modules/x/y.py", "docs/index.md"} {
		touch(t, filepath.Join(app, f), 0o644)
	}
	touch(t, filepath.Join(app, "env3", "pyvenv.cfg"), 0o644)
	touch(t, filepath.Join(app, "env3", "lib", "site.py"), 0o644)
	tree, err := scanTree(app)
	if err != nil {
		t.Fatal(err)
	}
	l := tree.layout
	if want := []string{"app.py", "conftest.py", "my-script.py", "setup.py", "test_app.py", "wsgi.py"}; !reflect.DeepEqual(l.Files, want) {
		t.Errorf("files %v, want %v", l.Files, want)
	}
	if !reflect.DeepEqual(l.Packages, []string{"pkg"}) || !reflect.DeepEqual(l.Dirs, []string{"scripts", "tests"}) {
		t.Errorf("packages %v, dirs %v", l.Packages, l.Dirs)
	}
	if want := []string{"app", "wsgi", "pkg"}; !reflect.DeepEqual(l.appModules(), want) {
		t.Errorf("app modules %v, want %v", l.appModules(), want)
	}
}
