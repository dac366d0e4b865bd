package cli_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.git("rev-parse", "HEAD")
	if r := f.ferry("deploy", "test"); r.code != 0 {
		t.Fatalf("good deploy: %s", r)
	}
	before := f.state().Current

	check := func(t *testing.T, r run, code int, wants ...string) {
		t.Helper()
		if r.code != code {
			t.Fatalf("want exit %d: %s", code, r)
		}
		for _, w := range wants {
			if !strings.Contains(r.err, w) {
				t.Fatalf("stderr lacks %q:\n%s", w, r.err)
			}
		}
		if f.state().Current != before || f.health() != good {
			t.Fatal("the serving release changed")
		}
	}
	t.Run("unknown environment", func(t *testing.T) {
		check(t, f.ferry("deploy", "prod"), 2, `unknown environment "prod"`, "hint:", "test")
	})
	t.Run("ref that does not resolve", func(t *testing.T) {
		check(t, f.ferry("deploy", "test", "--ref", "no-such-branch"), 2, `ref "no-such-branch" does not name a commit`, "hint:")
	})
	t.Run("sha absent from the repository", func(t *testing.T) {
		check(t, f.ferry("deploy", "test", "--ref", strings.Repeat("ab", 20)), 2, "does not name a commit")
	})
	t.Run("uncommitted changes", func(t *testing.T) {
		f.write("app.py", appPy+"\n# edited\n")
		defer f.git("checkout", "--", "app.py")
		check(t, f.ferry("deploy", "test"), 2, "uncommitted changes are not deployable: app.py", "hint: commit")
	})
	t.Run("requirements that do not install", func(t *testing.T) {
		f.write("requirements.txt", "greet==9.9.9\n")
		f.commit("impossible requirement")
		defer func() { f.write("requirements.txt", "greet==1.0.0\n"); f.commit("fix") }()
		r := f.ferry("deploy", "test")
		check(t, r, 1, "✗ install", "No matching distribution found for greet==9.9.9", "still serving")
	})
	t.Run("health that never answers", func(t *testing.T) {
		cfg := strings.Replace(f.configText(""), fmt.Sprintf("url: http://127.0.0.1:%d/health", f.port), fmt.Sprintf("url: http://127.0.0.1:%d/health", freePort(t)), 1)
		cfg = strings.Replace(cfg, "deadline: 2m", "deadline: 2s", 1)
		f.write("ferry.yml", cfg)
		f.commit("health elsewhere")
		defer func() { f.write("ferry.yml", f.configText("")); f.commit("restore config") }()
		r := f.ferry("deploy", "test")
		check(t, r, 3, "✗ health", "not healthy after 2s", "rolled back")
	})
	t.Run("config error", func(t *testing.T) {
		f.write("ferry.yml", f.configText("")+"keep_release: 3\n")
		defer f.write("ferry.yml", f.configText(""))
		line := strings.Count(f.configText(""), "\n") + 1
		check(t, f.ferry("deploy", "test"), 2, fmt.Sprintf("ferry.yml:%d:1: unknown key \"keep_release\"", line), `hint: did you mean "keep_releases"?`)
	})
}

func TestPortAlreadyTaken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", f.port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := f.ferry("deploy", "test")
	if r.code != 1 || !strings.Contains(r.err, fmt.Sprintf("port 127.0.0.1:%d is already in use", f.port)) {
		t.Fatalf("want exit 1 naming the busy port: %s", r)
	}
	if _, err := os.Lstat(filepath.Join(f.root, "current")); !os.IsNotExist(err) {
		t.Fatal("a refused deploy switched current")
	}
}
