// Package pipelinetest runs the pipeline `ferry init` writes
// (internal/workflows) for real under nektos/act, on this machine and
// offline: the four workflows in a fresh git repository of
// examples/hello, ferry installed through `uses: ferryhq/ferry@v1` from a
// loopback server holding a goreleaser snapshot (internal/testing/
// releasetest), deploys through `ferry sandbox`'s SSM emulator and S3
// server (internal/sandbox). Only the third-party actions are replaced,
// with local stand-ins (testdata/standins) that do what the real ones do
// on a self-hosted runner, minimally: checkout puts the workspace at the
// ref, setup-python puts the system python3 (a virtualenv that sees its
// packages) on PATH, configure-aws-credentials exports the sandbox's
// keys, upload-sarif and upload-artifact copy files to a directory the
// test reads.
package pipelinetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/acttest"
	"github.com/ferryhq/ferry/internal/testing/releasetest"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/workflows"
)

func TestMain(m *testing.M) { os.Exit(releasetest.Main(m)) }

// The role ARN the deploy jobs are given as the environment variable
// FERRY_AWS_ROLE_ARN; the credentials stand-in checks it arrives.
const roleARN = "arn:aws:iam::123456789012:role/ferry-hello-deploy"

// harness is one repository, one sandbox, one act cache, shared by the
// runs of a test (in order, as pushes to one repository are).
type harness struct {
	t        *testing.T
	act, git string
	snap     *releasetest.Snapshot
	ferry    string // the snapshot's ferry, unpacked, for seeding and probing
	sb       *sandbox.Sandbox
	ports    map[string]map[string]int // environment → instance → port
	repo     string
	cache    string
	uploads  string
	summary  string
	standins string
	wrappers string
	python   string
	releases *httptest.Server
}

// gatePython is the interpreter whose packages the gates use: Debian's,
// where .ci/run installs pytest, pytest-cov, flake8, pylint and bandit.
func gatePython(t *testing.T) (string, map[string]string) {
	t.Helper()
	py := "/usr/bin/python3"
	if runtime.GOOS == "windows" {
		t.Skip("act runs ubuntu-latest jobs on a Linux host")
	}
	pins := map[string]string{}
	out, err := exec.Command(py, "-c", `import importlib.metadata as m
for n in ("pytest", "pytest-cov", "flake8", "pylint", "bandit"):
    print(n, m.version(n))`).Output()
	if err != nil {
		testtool.Missing(t, "Debian's python3 with pytest, pytest-cov, flake8, pylint and bandit", "bash .ci/run installs them (python3-pytest python3-pytest-cov flake8 pylint bandit)")
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		pins[f[0]] = f[1]
	}
	if err := exec.Command(py, "-m", "venv", "--help").Run(); err != nil {
		testtool.Missing(t, "python3-venv", "apt-get install python3-venv")
	}
	return py, pins
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("act runs ubuntu-latest jobs on this host and the snapshot's ferry is linux/amd64; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	h := &harness{t: t}
	h.act = acttest.Need(t)
	h.git = testtool.Need(t, "git")
	py, pins := gatePython(t)
	h.python = py
	h.snap = releasetest.Build(t)
	root := t.TempDir()
	h.cache = filepath.Join(root, "act-cache")
	h.uploads = filepath.Join(root, "uploads")
	h.summary = filepath.Join(root, "summary.md")
	h.ferry = h.unpackFerry(filepath.Join(root, "ferry"))
	h.serveReleases()
	h.writeStandins(filepath.Join(root, "standins"))
	h.writeWrappers(filepath.Join(root, "wrappers"))

	sb, err := sandbox.Start(sandbox.Options{Root: filepath.Join(root, "sandbox"), Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	h.sb = sb
	t.Cleanup(func() {
		sb.StopApps()
		sb.Close()
	})
	h.ports = map[string]map[string]int{}
	for _, env := range []string{"development", "production"} {
		ports, err := sb.GivePorts("hello-" + env)
		if err != nil {
			t.Fatal(err)
		}
		h.ports[env] = ports
	}
	// The directory's name is the app's name ferry init detects.
	h.makeRepo(filepath.Join(root, "hello"), pins)
	return h
}

// unpackFerry unpacks the snapshot's linux/amd64 archive (ferry and its
// agents) and returns ferry's path.
func (h *harness) unpackFerry(dir string) string {
	t := h.t
	name := releasetest.ArchiveName(h.snap.Version, releasetest.Platform{GOOS: "linux", GOARCH: "amd64"})
	f, err := os.Open(filepath.Join(h.snap.Dist, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hd.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(hd.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "ferry")
}

// serveReleases lays the snapshot out like GitHub's release downloads,
// on loopback: <base>/v<version>/<file>.
func (h *harness) serveReleases() {
	files := map[string][]byte{}
	name := releasetest.ArchiveName(h.snap.Version, releasetest.Platform{GOOS: "linux", GOARCH: "amd64"})
	for _, f := range []string{name, "checksums.txt"} {
		b, err := os.ReadFile(filepath.Join(h.snap.Dist, f))
		if err != nil {
			h.t.Fatal(err)
		}
		files["/v"+h.snap.Version+"/"+f] = b
	}
	h.releases = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	h.t.Cleanup(h.releases.Close)
}

// writeStandins copies testdata/standins (one directory per action
// repository) and the ferry action (action.yml and its script, from the
// snapshot's source: what @v1 would hold).
func (h *harness) writeStandins(dir string) {
	t := h.t
	h.standins = dir
	err := filepath.WalkDir(filepath.Join("testdata", "standins"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("testdata", "standins"), p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(to), 0o755)
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"action.yml", "scripts/setup-ferry.sh"} {
		b, err := os.ReadFile(filepath.Join(h.snap.Source, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dir, "ferryhq-ferry", filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(to), 0o755)
		if err := os.WriteFile(to, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// localRepositories maps each action the workflows use to its stand-in.
func (h *harness) localRepositories() []string {
	m := map[string]string{
		workflows.DefaultActions.Checkout:      "actions-checkout",
		workflows.DefaultActions.SetupPython:   "actions-setup-python",
		workflows.DefaultActions.AWSCredential: "aws-actions-configure-aws-credentials",
		// upload-sarif is a directory of github/codeql-action.
		strings.Replace(workflows.DefaultActions.UploadSARIF, "/upload-sarif", "", 1): "github-codeql-action",
		workflows.DefaultActions.UploadArtifact:                                       "actions-upload-artifact",
		workflows.DefaultFerryAction:                                                  "ferryhq-ferry",
	}
	var out []string
	for ref, d := range m {
		out = append(out, "--local-repository", ref+"="+filepath.Join(h.standins, d))
	}
	return out
}

// writeWrappers puts a bash first on the jobs' PATH that runs the real
// one and then keeps the step's summary file: GitHub's runner collects
// each step's GITHUB_STEP_SUMMARY into the job summary, while act in
// host mode empties it before the next step and deletes it with the job.
func (h *harness) writeWrappers(dir string) {
	h.wrappers = dir
	bash, err := exec.LookPath("bash")
	if err != nil {
		testtool.Missing(h.t, "bash")
	}
	script := `#!/bin/sh
# The runner's step-summary collection, which act in host mode drops.
` + bash + ` "$@"
status=$?
if [ -z "${FERRYTEST_IN_STEP:-}" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$GITHUB_STEP_SUMMARY" ]; then
	cat "$GITHUB_STEP_SUMMARY" >>"$FERRYTEST_SUMMARY"
	: >"$GITHUB_STEP_SUMMARY"
fi
exit $status
`
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "bash"), []byte(script), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

// ferryYML deploys development (branch dev) and production (branch
// master) to the sandbox's first and second instance.
func (h *harness) ferryYML() string {
	env := func(name, branch string, instance int) string {
		return fmt.Sprintf(`  %s:
    branch: %s
    target: ssm
    root: ~/hello-%s
    ssm:
      region: %s
      bucket: %s
      instance_ids: [%s]
      execution_timeout: 10m
`, name, branch, name, h.sb.Region, h.sb.Bucket, h.sb.Instances[instance].ID)
	}
	return `# examples/hello, deployed to ferry sandbox's instances. Each instance's
# ~/hello-ENV/shared/.env holds its own PORT: the instances share this machine.
app: hello
start: python app.py
requirements: requirements.txt
python: python3
pip:
  no_index: true
env_file: .env
health:
  url: http://127.0.0.1:${PORT}/health
  version_field: version
  deadline: 30s
  interval: 200ms
gates:
  tests:
    coverage_min: 60
  audit:
    osv_db: osv
  pylint:
    min_score: 8
  # pip check would judge the machine's Debian packages, which the
  # setup-python stand-in's virtualenv sees, not the app's.
  deps:
    enabled: false
environments:
` + env("development", "dev", 0) + env("production", "master", 1)
}

func (h *harness) gitIn(dir string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(h.git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=pipelinetest", "GIT_AUTHOR_EMAIL=pipelinetest@example.com",
		"GIT_COMMITTER_NAME=pipelinetest", "GIT_COMMITTER_EMAIL=pipelinetest@example.com", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// makeRepo is examples/hello set up the way a team would: `ferry init`
// (the snapshot's ferry, installing itself from the loopback mirror in
// the workflows it writes), then ferry.yml's environments pointed at the
// sandbox's instances (each its own root and port) as a person edits the
// file init wrote; `ferry init --check` then proves the workflows are
// still what init writes for that ferry.yml. Committed on master, with
// dev branched from it.
func (h *harness) makeRepo(dir string, pins map[string]string) {
	t := h.t
	h.repo = dir
	src := filepath.Join("..", "..", "..", "examples", "hello")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "__pycache__" || d.Name() == ".ferry" || d.Name() == ".pytest_cache" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "ferry.yml" || strings.HasSuffix(rel, ".pyc") || strings.HasPrefix(filepath.Base(rel), ".coverage") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(to), 0o755)
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("__pycache__/\n.coverage*\n.pytest_cache/\ncoverage.xml\n"), 0o644)
	h.gitIn(dir, "init", "-q", "-b", "master")
	// The gate tools' pins are the machine's (nothing is downloaded).
	var req strings.Builder
	for _, tool := range slices.Sorted(maps.Keys(pins)) {
		fmt.Fprintf(&req, "%s==%s\n", tool, pins[tool])
	}
	os.MkdirAll(filepath.Join(dir, ".github"), 0o755)
	os.WriteFile(filepath.Join(dir, workflows.DefaultGateRequirements), []byte(req.String()), 0o644)
	// --force: the pins file above is replaced by what init writes of it
	// (the same pins, with its header).
	if out, err := h.ferryCmd("init", "--force", "--platform", "linux", "--region", h.sb.Region, "--bucket", h.sb.Bucket,
		"--instance-ids", h.sb.Instances[0].ID, "--root", "~/hello", "--ferry-download-url", h.releases.URL); err != nil {
		t.Fatalf("ferry init: %v\n%s", err, out)
	}
	for _, f := range []string{workflows.CheckPath, workflows.CICDPath, workflows.DeployPath, workflows.RollbackPath} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.Contains(string(b), "version: \""+h.snap.Version+"\"") && f != workflows.CICDPath {
			t.Errorf("ferry init did not write %s installing ferry %s: %v", f, h.snap.Version, err)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "ferry.yml"))
	for _, want := range []string{"development:\n    branch: dev", "production:\n    branch: master", "start: python app.py", "url: http://127.0.0.1:8000/health"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("ferry init's ferry.yml lacks %q:\n%s", want, cfg)
		}
	}
	os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte(h.ferryYML()), 0o644)
	if out, err := h.ferryCmd("init", "--check"); err != nil {
		t.Fatalf("ferry init --check after editing ferry.yml's environments: %v\n%s", err, out)
	}
	h.gitIn(dir, "add", "-A")
	h.gitIn(dir, "commit", "-q", "-m", "hello with ferry's pipeline")
	h.gitIn(dir, "branch", "dev")
}

// commit changes files on branch (checked out) and returns the commit.
func (h *harness) commit(branch, msg string, files map[string]string) string {
	h.gitIn(h.repo, "checkout", "-q", "-f", branch)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(h.repo, filepath.FromSlash(name)), []byte(body), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	h.gitIn(h.repo, "add", "-A")
	h.gitIn(h.repo, "commit", "-q", "--allow-empty", "-m", msg)
	return h.gitIn(h.repo, "rev-parse", "HEAD")
}

// step is one step's end as act logged it.
type step struct {
	Job, Name string
	OK        bool
}

// result is one act run.
type result struct {
	Output  string
	Exit    int
	Steps   []step
	Summary string
}

var stepRE = regexp.MustCompile(`(?m)^\[([^\]]+)\]\s+(✅  Success|❌  Failure) - Main (.+?) \[[0-9.]+[µmn]?s\]`)

// ran finds a step by a part of its name; ok tells whether it ended.
func (r result) ran(name string) (step, bool) {
	for _, s := range r.Steps {
		if strings.Contains(s.Name, name) {
			return s, true
		}
	}
	return step{}, false
}

// run runs event on the checked-out branch under act; payload is the
// event's JSON (its ref and, for workflow_dispatch, its inputs).
func (h *harness) run(event, workflow string, payload map[string]any) result {
	t := h.t
	t.Helper()
	os.RemoveAll(h.uploads)
	os.MkdirAll(h.uploads, 0o755)
	os.Remove(h.summary)
	ev := filepath.Join(t.TempDir(), "event.json")
	b, _ := json.Marshal(payload)
	os.WriteFile(ev, b, 0o644)
	args := []string{event,
		"--workflows", workflow,
		"--eventpath", ev,
		"--platform", "ubuntu-latest=-self-hosted",
		"--pull=false", "--action-offline-mode", "--no-cache-server",
		"--action-cache-path", h.cache,
		"--container-daemon-socket", "-",
		"--no-skip-checkout",
		"--var", workflows.VarRoleARN + "=" + roleARN,
		"--var", workflows.VarRegion + "=" + h.sb.Region,
		"--secret", "GITHUB_TOKEN=not-a-real-token",
		"--secret", "HELLO_GREETING=hello from a secret",
	}
	args = append(args, h.localRepositories()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.act, args...)
	cmd.Dir = h.repo
	creds := filepath.Join(t.TempDir(), "no-credentials")
	os.WriteFile(creds, nil, 0o600)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		// Nothing of the machine's AWS or Actions setup reaches the jobs.
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || k == "CI" || strings.HasPrefix(k, "PIP_") {
			continue
		}
		if k == "PATH" {
			kv = "PATH=" + h.wrappers + string(os.PathListSeparator) + kv[len("PATH="):]
		}
		env = append(env, kv)
	}
	env = append(env,
		"ACT_DISABLE_VERSION_CHECK=1",
		"XDG_CONFIG_HOME="+filepath.Join(h.cache, "xdg-config"),
		"FERRYTEST_PYTHON="+h.python,
		"FERRYTEST_REPO="+h.repo,
		"FERRYTEST_UPLOADS="+h.uploads,
		"FERRYTEST_SUMMARY="+h.summary,
		// The credentials stand-in exports these as AWS_ACCESS_KEY_ID…:
		// without it the deploy has no credentials at all.
		"FERRYTEST_SANDBOX_ACCESS_KEY_ID="+sandbox.AccessKeyID,
		"FERRYTEST_SANDBOX_SECRET_ACCESS_KEY="+sandbox.SecretAccessKey,
		// Where AWS is: the sandbox's endpoints (no keys in these files).
		"AWS_ENDPOINT_URL_SSM="+h.sb.SSMEndpoint,
		"AWS_ENDPOINT_URL_S3="+h.sb.S3Endpoint,
		"AWS_ENDPOINT_URL_STS="+h.sb.STSEndpoint,
		"AWS_CONFIG_FILE="+h.sb.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_DISABLED=true",
		// pip never looks for packages: the pins are already installed.
		"PIP_NO_INDEX=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
	)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res := result{Output: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.Exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("act: %v\n%s", err, out.String())
	}
	for _, m := range stepRE.FindAllStringSubmatch(res.Output, -1) {
		res.Steps = append(res.Steps, step{Job: m[1], Name: m[3], OK: strings.Contains(m[2], "Success")})
	}
	if b, err := os.ReadFile(h.summary); err == nil {
		res.Summary = string(b)
	}
	t.Logf("act %s %s exited %d; steps:", event, workflow, res.Exit)
	for _, s := range res.Steps {
		t.Logf("  %-5v [%s] %s", s.OK, s.Job, s.Name)
	}
	if t.Failed() || os.Getenv("FERRYTEST_ACT_LOG") != "" {
		t.Logf("act output:\n%s", res.Output)
	}
	return res
}

// health asks the app on env's instance which commit it serves.
func (h *harness) health(env string) (string, error) {
	idx := 0
	if env == "production" {
		idx = 1
	}
	port := h.ports[env][h.sb.Instances[idx].ID]
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	return body.Version, nil
}

// ferryCmd runs the snapshot's ferry in the repository against the
// sandbox (for seeding releases and probing commands).
func (h *harness) ferryCmd(args ...string) (string, error) {
	cmd := exec.Command(h.ferry, args...)
	cmd.Dir = h.repo
	var env []string
	for _, kv := range h.sb.Environ(os.Environ()) {
		// ferry finds the agents beside itself, as installed.
		if !strings.HasPrefix(kv, "FERRY_AGENT_DIR=") && !strings.HasPrefix(kv, "GITHUB_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}
