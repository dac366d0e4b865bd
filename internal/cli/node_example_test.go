package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNodeExample deploys examples/node (runtime: node) with a local
// target as a new user would, from its own ferry.yml: its tests pass; the
// first deploy builds node_modules with npm ci; a code-only change reuses
// them; a dependency change (a local file: package, so no registry is
// needed) builds new ones that the app loads; a rollback returns to the
// release before, with its own node_modules.
func TestNodeExample(t *testing.T) {
	t.Parallel()
	slow(t)
	for _, tool := range []string{"git", "node", "npm"} {
		need(t, tool)
	}
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "node")
	for _, f := range []string{"ferry.yml", "server.js", "package.json", "package-lock.json", "test/server.test.js"} {
		b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	if n := strings.Count(mustRead(t, filepath.Join(dir, "ferry.yml")), "\n"); n >= 15 {
		t.Errorf("examples/node/ferry.yml has %d lines; a new user's should be under 15", n)
	}
	if out, err := exec.Command("node", "--test", filepath.Join(dir, "test")).CombinedOutput(); err != nil {
		t.Fatalf("the example's own tests: %v\n%s", err, out)
	}
	port := freePort(t)
	cfg := strings.ReplaceAll(mustRead(t, filepath.Join(dir, "ferry.yml")), "8010", strconv.Itoa(port))
	os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte(cfg), 0o644)
	f := &fixture{t: t, dir: dir, port: port, root: filepath.Join(dir, ".ferry", "local")}
	f.git("init", "-q", "-b", "main")
	t.Cleanup(f.stopApp)

	type rel struct {
		ID, SHA     string
		NodeModules string `json:"node_modules"`
	}
	current := func() rel {
		t.Helper()
		var st struct {
			Current  string
			Releases []rel
		}
		json.Unmarshal([]byte(mustRead(t, filepath.Join(f.root, "state.json"))), &st)
		for _, r := range st.Releases {
			if r.ID == st.Current {
				return r
			}
		}
		t.Fatal("no current release")
		return rel{}
	}
	deploy := func(msg string) rel {
		t.Helper()
		sha := f.commit(msg)
		if r := f.ferry("deploy", "local"); r.code != 0 {
			t.Fatalf("deploy %s: %s", msg, r)
		}
		if got := f.health(); got != sha {
			t.Fatalf("after %s the app answers %q, want %s", msg, got, sha)
		}
		return current()
	}
	first := deploy("node example")
	if first.NodeModules == "" {
		t.Fatal("the release records no node_modules")
	}
	if st, err := os.Lstat(filepath.Join(f.root, "releases", first.ID, "node_modules")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the release's node_modules is not a link to the shared one: %v", err)
	}

	f.write("server.js", strings.Replace(mustRead(t, filepath.Join(dir, "server.js")), "'hello'", "'hello again'", 1))
	code := deploy("code only")
	if code.NodeModules != first.NodeModules {
		t.Fatalf("a code-only deploy built new node_modules (%s, then %s)", first.NodeModules, code.NodeModules)
	}

	// A dependency: a package packed here, committed with the app.
	pkg := filepath.Join(t.TempDir(), "greet")
	os.MkdirAll(pkg, 0o755)
	os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name":"greet","version":"1.0.0","main":"index.js"}`), 0o644)
	os.WriteFile(filepath.Join(pkg, "index.js"), []byte("module.exports = () => 'hello from greet';\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "vendor"), 0o755)
	npm := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("npm", append(args, "--offline", "--no-audit", "--no-fund")...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm %v: %v\n%s", args, err, out)
		}
	}
	npm(pkg, "pack", "--pack-destination", filepath.Join(dir, "vendor"))
	npm(dir, "install", "--save", "file:vendor/greet-1.0.0.tgz")
	os.RemoveAll(filepath.Join(dir, "node_modules")) // never committed
	f.write(".gitignore", "node_modules/\n")
	deps := deploy("greet")
	if deps.NodeModules == code.NodeModules {
		t.Fatal("a changed package-lock.json reused node_modules")
	}
	if body := get(t, port, "/"); body != "hello from greet\n" {
		t.Fatalf("the app does not use its new dependency: %q", body)
	}

	if r := f.ferry("rollback", "local"); r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	if got := f.health(); got != code.SHA {
		t.Fatalf("after the rollback the app answers %q, want %s", got, code.SHA)
	}
	if body := get(t, port, "/"); body != "hello again\n" {
		t.Fatalf("the rolled-back release answers %q", body)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(t *testing.T, port int, path string) string {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
