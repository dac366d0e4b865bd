package agent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// TestSecretsStayOutOfRecords deploys with secret values (in the spec's
// env:, and in a sealed part fetched by URL: a variable, the health URL's
// password, the pip index URL's), deploys again, rolls back, asks status
// and releases, and fails a fetch from a URL with a password. None of the
// values is in state.json, its copy, the run directory, the logs, a
// release's record, or any event or result the agent printed; the values
// are in secrets/<release>.json, readable by the agent's account only,
// and the rolled-back app still gets them.
func TestSecretsStayOutOfRecords(t *testing.T) {
	s := newSite(t)
	secrets := []string{"tok-SECRET-1234567", "db-SECRET-hunter2", "pw-SECRET-987", "idx-SECRET-555", "git-SECRET-42"}
	sealedDir := t.TempDir()
	doc := fmt.Sprintf(`{"vars":{"DB_PASSWORD":%q},"health_url":"http://probe:%s@127.0.0.1:%d/health","pip_index_url":"https://user:%s@pypi.invalid/simple"}`,
		secrets[1], secrets[2], s.port, secrets[3])
	sealedPath := filepath.Join(sealedDir, "sealed.json")
	os.WriteFile(sealedPath, []byte(doc), 0o600)
	sum := sha256.Sum256([]byte(doc))
	sealed := &agent.Sealed{URL: "file://" + filepath.ToSlash(sealedPath), SHA256: hex.EncodeToString(sum[:])}
	spec := func(op, sha string) agent.Spec {
		sp := s.spec(op, sha)
		sp.Vars["API_TOKEN"] = secrets[0]
		sp.Sealed = sealed
		return sp
	}
	var printed strings.Builder
	run := func(sp agent.Spec) agentRun {
		r := runAgent(t, sp)
		for _, ev := range r.events {
			b, _ := json.Marshal(ev)
			printed.Write(b)
			printed.WriteByte('\n')
		}
		return r
	}
	sha1 := s.git("rev-parse", "HEAD")
	if r := run(spec("apply", sha1)); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	if r := run(spec("apply", s.change(true))); r.code != 0 {
		t.Fatalf("second deploy: %s", r)
	}
	if r := run(spec("rollback", "")); r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	if r := run(s.spec("status", "")); r.code != 0 || !r.result.Status.Healthy {
		t.Fatalf("status: %s", r)
	}
	if r := run(s.spec("releases", "")); r.code != 0 {
		t.Fatalf("releases: %s", r)
	}
	bad := spec("apply", sha1)
	bad.Source.URL = "https://deployer:" + secrets[4] + "@127.0.0.1:1/repo.git"
	if r := run(bad); r.code != 1 {
		t.Fatalf("a fetch from an unreachable URL must fail: %s", r)
	}

	// The rolled-back app runs with the values from its secrets file.
	if runtime.GOOS == "linux" {
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.appPID()))
		for _, want := range []string{"API_TOKEN=" + secrets[0], "DB_PASSWORD=" + secrets[1]} {
			if !strings.Contains(string(env), want) {
				t.Errorf("the rolled-back app lacks %s", strings.SplitN(want, "=", 2)[0])
			}
		}
	}

	check := func(where, content string) {
		for _, v := range secrets {
			if strings.Contains(content, v) {
				t.Errorf("%s holds the secret %q", where, v)
			}
		}
	}
	check("the agent's output", printed.String())
	filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(s.root, p)
		if err != nil || rel == "secrets" || rel == "venvs" || rel == "repo.git" {
			if d != nil && d.IsDir() && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			check(rel, string(b))
		}
		return nil
	})
	st, _ := os.ReadFile(filepath.Join(s.root, "state.json"))
	if !strings.Contains(string(st), `"API_TOKEN"`) || !strings.Contains(string(st), "probe:***@") {
		t.Errorf("state.json must keep the variables' names and the redacted health URL:\n%s", st)
	}
	files, _ := filepath.Glob(filepath.Join(s.root, "secrets", "*.json"))
	if len(files) < 2 {
		t.Fatalf("no secrets files: %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !strings.Contains(string(b), secrets[0]) {
			t.Errorf("%s lacks the values a rollback needs", f)
		}
		if runtime.GOOS != "windows" {
			if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want 0600", f, st.Mode().Perm())
			}
		}
	}
	if st, _ := os.Stat(filepath.Join(s.root, "secrets")); runtime.GOOS != "windows" && st.Mode().Perm() != 0o700 {
		t.Errorf("secrets/ is %v, want 0700", st.Mode().Perm())
	}
}
