package releasetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// fakeCurl answers the GitHub "latest release" redirect with
// FAKE_LATEST's tag and fails every download (as a 404 would), logging
// each URL: enough to see which version the script chose, offline.
const fakeCurl = `#!/usr/bin/env bash
url="${@: -1}"
echo "$url" >>"$FAKE_CURL_LOG"
for a in "$@"; do
	if [[ "$a" == --write-out ]]; then
		printf 'https://github.com/ferryhq/ferry/releases/tag/%s' "$FAKE_LATEST"
		exit 0
	fi
done
exit 22
`

// TestSetupScriptVersions runs scripts/setup-ferry.sh (the action's
// step) directly, with a stand-in curl, through the ways a version is
// chosen and the inputs it refuses.
func TestSetupScriptVersions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the script's Windows path runs in Git Bash, not tested here")
	}
	bash := testtool.Need(t, "bash")
	wd, _ := os.Getwd()
	root, _ := agentbin.FindModule(wd)
	script := filepath.Join(root, "scripts", "setup-ferry.sh")
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "curl"), []byte(fakeCurl), 0o755); err != nil {
		t.Fatal(err)
	}
	const gh = "https://github.com/ferryhq/ferry/releases/download"
	cases := []struct {
		name    string
		env     []string
		wantURL string // the first download tried
		wantErr string
	}{
		{name: "explicit version", env: []string{"FERRY_INPUT_VERSION=v1.2.3"}, wantURL: gh + "/v1.2.3/checksums.txt"},
		{name: "pre-release", env: []string{"FERRY_INPUT_VERSION=0.0.1-snapshot.abc1234"}, wantURL: gh + "/v0.0.1-snapshot.abc1234/checksums.txt"},
		{name: "the action's release tag from its path", env: []string{"GITHUB_ACTION_PATH=/home/runner/work/_actions/ferryhq/ferry/v1.4.2"}, wantURL: gh + "/v1.4.2/checksums.txt"},
		{name: "the action's release tag from github.action_ref", env: []string{"FERRY_ACTION_REF=v1.4.3"}, wantURL: gh + "/v1.4.3/checksums.txt"},
		{name: "major tag takes the latest of that major", env: []string{"GITHUB_ACTION_PATH=/a/_actions/ferryhq/ferry/v1", "FAKE_LATEST=v1.9.0"}, wantURL: gh + "/v1.9.0/checksums.txt"},
		{name: "major tag refuses another major", env: []string{"GITHUB_ACTION_PATH=/a/_actions/ferryhq/ferry/v1", "FAKE_LATEST=v2.0.0"}, wantErr: "the latest ferry release is v2.0.0, which is not a v1 release"},
		{name: "minor tag", env: []string{"FERRY_ACTION_REF=v1.2", "FAKE_LATEST=v1.3.0"}, wantErr: "which is not a v1.2 release"},
		{name: "branch takes the latest", env: []string{"FERRY_ACTION_REF=main", "FAKE_LATEST=v3.1.4"}, wantURL: gh + "/v3.1.4/checksums.txt"},
		{name: "latest", env: []string{"FERRY_INPUT_VERSION=latest", "FAKE_LATEST=v3.1.4"}, wantURL: gh + "/v3.1.4/checksums.txt"},
		{name: "mirror", env: []string{"FERRY_INPUT_VERSION=1.2.3", "FERRY_INPUT_DOWNLOAD_URL=https://ghe.example.com/ferry/releases/download/"}, wantURL: "https://ghe.example.com/ferry/releases/download/v1.2.3/checksums.txt"},
		{name: "mirror needs a version", env: []string{"FERRY_INPUT_DOWNLOAD_URL=https://mirror.example.com/ferry"}, wantErr: "version is required with a download-url mirror"},
		{name: "not a version", env: []string{"FERRY_INPUT_VERSION=1.2"}, wantErr: "version '1.2' is not a release version"},
		{name: "shell text is not a version", env: []string{"FERRY_INPUT_VERSION=1.2.3;touch pwned"}, wantErr: "is not a release version"},
		{name: "http mirror", env: []string{"FERRY_INPUT_VERSION=1.2.3", "FERRY_INPUT_DOWNLOAD_URL=http://mirror.example.com/ferry"}, wantErr: "is not an https URL"},
		{name: "loopback http", env: []string{"FERRY_INPUT_VERSION=1.2.3", "FERRY_INPUT_DOWNLOAD_URL=http://127.0.0.1:8080"}, wantURL: "http://127.0.0.1:8080/v1.2.3/checksums.txt"},
		{name: "unsupported arch", env: []string{"FERRY_INPUT_VERSION=1.2.3", "RUNNER_ARCH=X86"}, wantErr: "unsupported runner architecture 'X86'"},
		{name: "macOS arm64", env: []string{"FERRY_INPUT_VERSION=1.2.3", "RUNNER_OS=macOS", "RUNNER_ARCH=ARM64"}, wantErr: "ferry_1.2.3_darwin_arm64.tar.gz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "curl.log")
			cmd := exec.Command(bash, script)
			cmd.Env = append([]string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"RUNNER_OS=Linux", "RUNNER_ARCH=X64",
				"RUNNER_TOOL_CACHE=" + filepath.Join(dir, "tools"), "RUNNER_TEMP=" + dir,
				"GITHUB_PATH=" + filepath.Join(dir, "path"), "GITHUB_OUTPUT=" + filepath.Join(dir, "output"),
				"FAKE_CURL_LOG=" + log, "FAKE_LATEST=v9.9.9",
			}, c.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the script succeeded with a curl that downloads nothing:\n%s", out)
			}
			if c.wantErr != "" && !strings.Contains(string(out), c.wantErr) {
				t.Errorf("output lacks %q:\n%s", c.wantErr, out)
			}
			if !strings.Contains(string(out), "::error title=ferry setup::") || !strings.Contains(string(out), "(hint: ") {
				t.Errorf("the failure is not a GitHub error annotation with a hint:\n%s", out)
			}
			if c.wantURL != "" {
				b, _ := os.ReadFile(log)
				var downloads []string
				for _, u := range strings.Fields(string(b)) {
					if !strings.HasSuffix(u, "/releases/latest") {
						downloads = append(downloads, u)
					}
				}
				if len(downloads) == 0 || downloads[0] != c.wantURL {
					t.Errorf("downloads %q, want first %s\n%s", downloads, c.wantURL, out)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "tools", "ferry")); !os.IsNotExist(err) {
				t.Errorf("a failed setup left %s/tools/ferry (%v)", dir, err)
			}
		})
	}
}
