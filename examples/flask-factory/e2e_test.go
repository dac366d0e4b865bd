// Package flaskfactory_test deploys the flask-factory example end to end
// with a local target: pyproject.toml, an app factory served by
// waitress, SQLite in the shared instance/ folder, init-db as the
// before_switch hook.
package flaskfactory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// debianPython is the interpreter whose site packages hold Debian's
// python3-flask and python3-waitress: no index is reachable from the
// machines that test, so the venv sees them (pip.system_site_packages)
// and gets the rest from a wheelhouse in the repository.
const debianPython = "/usr/bin/python3"

type project struct {
	t    *testing.T
	dir  string
	port int
}

func (p *project) git(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (p *project) write(name, content string) {
	p.t.Helper()
	full := filepath.Join(p.dir, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(full), 0o755)
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) commit(msg string) string {
	p.git("add", "-A")
	p.git("commit", "-q", "-m", msg)
	return p.git("rev-parse", "HEAD")
}

// ferry runs the CLI in-process in the project and returns its exit
// code, stdout and stderr.
func (p *project) ferry(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	f := cli.NewFactory(cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string {
		if strings.HasPrefix(k, "GITHUB_") || k == "CI" {
			return "" // the test's own CI must not make this a CI deploy
		}
		return os.Getenv(k)
	}})
	f.WorkDir = p.dir
	code := cli.Run(context.Background(), args, f)
	return code, out.String(), errb.String()
}

// deployed is what a --json deploy says of the one local server.
type deployed struct {
	Outcome string `json:"outcome"`
	Targets []struct {
		Result struct {
			Release    string `json:"release"`
			VenvReused bool   `json:"venv_reused"`
			Steps      []struct {
				Name, Status string
			} `json:"steps"`
		} `json:"result"`
	} `json:"targets"`
}

func (p *project) deploy(args ...string) deployed {
	p.t.Helper()
	code, out, errs := p.ferry(append(args, "--json")...)
	var env struct {
		Result deployed `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil || code != 0 {
		p.t.Fatalf("ferry %s: exit %d, %v\n%s\n%s", strings.Join(args, " "), code, err, out, errs)
	}
	return env.Result
}

func (p *project) get(path string) map[string]any {
	p.t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d%s", p.port, path))
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &doc); err != nil {
		p.t.Fatalf("GET %s: %s", path, b)
	}
	return doc
}

// TestFlaskFactoryEndToEnd: the example deploys with its own ferry.yml
// (the port and the offline pip options aside); the smoke gate passes;
// a code-only change reuses the venv and keeps the SQLite data; a
// dependency change builds a new venv; ferry exec runs in the serving
// release's venv; a rollback returns to the previous release.
func TestFlaskFactoryEndToEnd(t *testing.T) {
	testtool.Need(t, "git")
	if out, err := exec.Command(debianPython, "-c", "import flask, waitress").CombinedOutput(); err != nil {
		testtool.Missing(t, "python3-flask and python3-waitress", string(out))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &project{t: t, dir: t.TempDir(), port: port}
	for _, name := range []string{"pyproject.toml", "flaskr/__init__.py", "flaskr/db.py", "tests/test_app.py", ".gitignore", "ferry.yml"} {
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		content := string(b)
		if name == "ferry.yml" {
			if n := strings.Count(content, "\n"); n >= 15 {
				t.Errorf("the example's ferry.yml has %d lines; a new user's is under 15", n)
			}
			content = strings.ReplaceAll(content, "8000", fmt.Sprint(port)) +
				"python: " + debianPython + "\n" +
				"pip: {system_site_packages: true, no_index: true, find_links: [wheels]}\n" +
				"gates: {tests: {enabled: false}, audit: {enabled: false}, safety: {enabled: false}, bandit: {enabled: false}, flake8: {enabled: false}, pylint: {enabled: false}, deps: {enabled: false}}\n"
		}
		p.write(name, content)
	}
	os.MkdirAll(filepath.Join(p.dir, "wheels"), 0o755)
	if _, err := (testwheel.Wheel{Name: "greet", Version: "1.0.0"}).Write(filepath.Join(p.dir, "wheels")); err != nil {
		t.Fatal(err)
	}
	p.git("init", "-q", "-b", "main")
	sha1 := p.commit("flaskr")
	defer func() {
		// Stop what serves: ferry has no stop command, the PID file names it.
		b, err := os.ReadFile(filepath.Join(p.dir, ".ferry", "local", "run", "app.pid"))
		if err == nil {
			var h struct{ PID int }
			json.Unmarshal(b, &h)
			if proc, err := os.FindProcess(h.PID); err == nil && h.PID > 0 {
				proc.Kill()
			}
		}
	}()

	if code, out, errs := p.ferry("check"); code != 0 || !strings.Contains(out+errs, "smoke") {
		t.Fatalf("ferry check (the smoke gate) on the example: exit %d\n%s\n%s", code, out, errs)
	}

	// First deploy: a new venv, init-db before the switch, SQLite in shared/instance.
	d := p.deploy("deploy", "local")
	steps := map[string]string{}
	for _, s := range d.Targets[0].Result.Steps {
		steps[s.Name] = s.Status
	}
	if steps["before_switch"] != "ok" || steps["install"] != "ok" {
		t.Fatalf("first deploy's steps: %v", steps)
	}
	if v := p.get("/health")["version"]; v != sha1 {
		t.Fatalf("health answers %v, want %s", v, sha1)
	}
	if h := p.get("/")["hits"]; h != 1.0 {
		t.Fatalf("hits = %v", h)
	}
	if _, err := os.Stat(filepath.Join(p.dir, ".ferry", "local", "shared", "instance", "flaskr.sqlite")); err != nil {
		t.Fatalf("the database is not in shared/instance: %v", err)
	}

	// A code-only change: the venv is reused, the data survives.
	init := filepath.Join(p.dir, "flaskr", "__init__.py")
	b, _ := os.ReadFile(init)
	p.write("flaskr/__init__.py", strings.Replace(string(b), `"hello"`, `"hello again"`, 1))
	sha2 := p.commit("greeting")
	if d := p.deploy("deploy", "local"); !d.Targets[0].Result.VenvReused {
		t.Fatal("a code-only change rebuilt the venv")
	}
	doc := p.get("/")
	if doc["hits"] != 2.0 || doc["greeting"] != "hello again" {
		t.Fatalf("after the code change: %v (the SQLite data must survive the release)", doc)
	}

	// A dependency change: a new venv, with the new package in it.
	b, _ = os.ReadFile(filepath.Join(p.dir, "pyproject.toml"))
	p.write("pyproject.toml", strings.Replace(string(b), `"waitress>=2.1",`, `"waitress>=2.1",`+"\n    \"greet==1.0.0\",", 1))
	sha3 := p.commit("greet")
	if d := p.deploy("deploy", "local"); d.Targets[0].Result.VenvReused {
		t.Fatal("a dependency change reused the old venv")
	}
	if v := p.get("/health")["version"]; v != sha3 {
		t.Fatalf("health answers %v, want %s", v, sha3)
	}

	// ferry exec runs in the serving release, with its venv and variables.
	code, out, errs := p.ferry("exec", "local", "--", "python", "-c", "import greet, os, sys; print(greet.__version__, sys.prefix, os.environ['FERRY_SHA'], os.environ['PORT'])")
	if code != 0 {
		t.Fatalf("ferry exec: exit %d\n%s\n%s", code, out, errs)
	}
	if f := strings.Fields(out); len(f) != 4 || f[0] != "1.0.0" || !strings.Contains(f[1], filepath.Join(".ferry", "local", "venvs")) || f[2] != sha3 || f[3] != fmt.Sprint(port) {
		t.Fatalf("ferry exec printed %q", out)
	}
	if code, _, _ := p.ferry("exec", "local", "--", "flask", "--app", "flaskr", "init-db"); code != 0 {
		t.Fatalf("ferry exec flask init-db: exit %d", code)
	}
	if code, _, _ := p.ferry("exec", "local", "--", "python", "-c", "raise SystemExit(7)"); code != 7 {
		t.Fatalf("ferry exec exits with the command's status: got %d, want 7", code)
	}

	// A rollback returns to the release before, data and all.
	if code, out, errs := p.ferry("rollback", "local"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errs)
	}
	if v := p.get("/health")["version"]; v != sha2 {
		t.Fatalf("after the rollback health answers %v, want %s", v, sha2)
	}
	if h := p.get("/")["hits"]; h != 3.0 {
		t.Fatalf("hits after the rollback = %v, want 3 (data kept)", h)
	}
}
