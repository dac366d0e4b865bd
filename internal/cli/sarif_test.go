package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An app in a subdirectory (dir: services/hello): SARIF URIs and the
// Actions annotations name files from the repository root, where code
// scanning and GitHub's file view resolve them; each gate is one group.
func TestGateLocationsFromTheRepositoryRoot(t *testing.T) {
	t.Parallel()
	need(t, "git")
	need(t, "flake8")
	f := &fixture{t: t, dir: t.TempDir()}
	f.git("init", "-q", "-b", "main")
	f.write("ferry.yml", `app: hello
dir: services/hello
gates:
  tests: {enabled: false}
  audit: {enabled: false}
  safety: {enabled: false}
  bandit: {enabled: false}
  pylint: {enabled: false}
  smoke: {enabled: false}
  deps: {enabled: false}
  flake8: {blocking: false}
environments:
  local: {target: local}
`)
	os.MkdirAll(filepath.Join(f.dir, "services", "hello"), 0o755)
	f.write("services/hello/app.py", "import os\n")
	f.commit("an unused import")
	sarif := filepath.Join(t.TempDir(), "ferry.sarif")
	r := ferryIn(t, f.dir, map[string]string{"GITHUB_ACTIONS": "true"}, "check", "--sarif", sarif)
	if r.code != 0 {
		t.Fatalf("check: %s", r)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	b, _ := os.ReadFile(sarif)
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs) == 0 || len(log.Runs[0].Results) == 0 {
		t.Fatalf("sarif: %v\n%s", err, b)
	}
	if uri := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "services/hello/app.py" {
		t.Errorf("SARIF URI %q, want services/hello/app.py", uri)
	}
	if !strings.Contains(r.out, "::warning file=services/hello/app.py,line=1,col=1,title=ferry flake8%3A F401::") {
		t.Errorf("no annotation at services/hello/app.py:1:1:\n%s", r.out)
	}
	if !strings.Contains(r.out, "::group::flake8: warned") || !strings.Contains(r.out, "services/hello/app.py:1:1: F401") {
		t.Errorf("flake8 is not one group with its findings:\n%s", r.out)
	}
}
