package pyenv

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const flaskrPyproject = `[project]
name = "flaskr"
version = "1.0.0"
description = "The basic blog app built in the Flask tutorial."
dependencies = [
    "flask",            # the framework
    'waitress>=2',
    "greet[extra] ; python_version >= '3.8'",
]

[project.optional-dependencies]
test = ["pytest"]

[build-system]
requires = ["flit_core<4"]
build-backend = "flit_core.buildapi"

[tool.flit.module]
name = "flaskr"
`

func TestParsePyproject(t *testing.T) {
	p, err := parsePyproject([]byte(flaskrPyproject))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"flask", "waitress>=2", "greet[extra] ; python_version >= '3.8'"}
	if !reflect.DeepEqual(p.deps, want) || !p.buildSystem || p.dynamicDeps {
		t.Fatalf("got %+v, want deps %q and a build system", p, want)
	}
	for name, src := range map[string]string{
		"one line":    "[project]\nname = \"x\"\ndependencies = [\"a\", \"b==1\"]\n",
		"dotted key":  "project.dependencies = [\"a\", \"b==1\"]\n",
		"crlf":        "[project]\r\ndependencies = [\r\n  \"a\",\r\n  \"b==1\",\r\n]\r\n",
		"after array": "[project]\nclassifiers = [\n \"x\",\n]\ndependencies = [\"a\",\"b==1\"]\n[tool.other]\ndependencies = [\"no\"]\n",
	} {
		p, err := parsePyproject([]byte(src))
		if err != nil || !reflect.DeepEqual(p.deps, []string{"a", "b==1"}) {
			t.Errorf("%s: got %q, %v", name, p.deps, err)
		}
	}
	p, _ = parsePyproject([]byte("[project]\nname = \"x\"\ndynamic = [\"version\", \"dependencies\"]\n"))
	if !p.dynamicDeps {
		t.Error("dynamic dependencies were not seen")
	}
	if _, err := parsePyproject([]byte("[project]\ndependencies = [\"a\", 3]\n")); err == nil {
		t.Error("an array with a number was accepted")
	}
}

func TestDeclared(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := Declared(dir, "requirements.txt"); err != nil || d.Kind != DeclNone {
		t.Fatalf("empty release: %+v %v", d, err)
	}
	write("pyproject.toml", flaskrPyproject)
	d, err := Declared(dir, "requirements.txt")
	if err != nil || d.Kind != DeclPyproject || d.File != "pyproject.toml" || !d.Package {
		t.Fatalf("pyproject beside a missing requirements.txt: %+v %v", d, err)
	}
	// The key follows the dependencies, not the rest of the file.
	write("pyproject.toml", flaskrPyproject+"\n[tool.black]\nline-length = 100\n")
	d2, _ := Declared(dir, "pyproject.toml")
	if string(d2.Keyed) != string(d.Keyed) {
		t.Fatal("a tool's settings changed the keyed dependencies")
	}
	write("requirements.txt", "greet==1.0.0 \\\n    --hash=sha256:abc\n")
	d, err = Declared(dir, "requirements.txt")
	if err != nil || d.Kind != DeclRequirements || !d.Hashes {
		t.Fatalf("a hashed requirements file: %+v %v", d, err)
	}
	write("pyproject.toml", "[project]\ndynamic = [\"dependencies\"]\n")
	if _, err := Declared(dir, "pyproject.toml"); err == nil {
		t.Fatal("dynamic dependencies were accepted")
	}
}

func TestKeyOfRelativeWheelhouse(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		os.WriteFile(filepath.Join(d, "greet-1.0.0-py3-none-any.whl"), []byte("wheel"), 0o644)
	}
	opts := PipOptions{NoIndex: true, FindLinks: []string{"wheels"}}
	ka := Key("3.11", []byte("greet\n"), opts, WheelhouseDigest(a))
	if kb := Key("3.11", []byte("greet\n"), opts, WheelhouseDigest(b)); ka != kb {
		t.Fatal("two copies of one wheelhouse key differently")
	}
	os.WriteFile(filepath.Join(b, "greet-2.0.0-py3-none-any.whl"), []byte("wheel2"), 0o644)
	if kb := Key("3.11", []byte("greet\n"), opts, WheelhouseDigest(b)); ka == kb {
		t.Fatal("a wheelhouse with another wheel keys the same")
	}
	if Key("3.11", nil, PipOptions{}, "") == Key("3.11", nil, PipOptions{SystemSitePackages: true}, "") {
		t.Fatal("system_site_packages does not change the key")
	}
}
