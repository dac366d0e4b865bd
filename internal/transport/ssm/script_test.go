package ssm

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/testing/golden"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

var (
	goldenAMD64 = AgentBinary{
		SHA256: strings.Repeat("a1", 32),
		URL:    "https://ferry-artifacts.s3.us-east-1.amazonaws.com/ferry/agents/" + strings.Repeat("a1", 32) + "/ferry-agent?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=4500&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("0f", 32),
	}
	goldenARM64 = AgentBinary{
		SHA256: strings.Repeat("b2", 32),
		URL:    "https://ferry-artifacts.s3.us-east-1.amazonaws.com/ferry/agents/" + strings.Repeat("b2", 32) + "/ferry-agent?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=4500&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("1e", 32),
	}
)

// hostileSpec carries, in every field a person controls, what would break
// out of a quoted string if it were ever spliced into a script.
func hostileSpec(t *testing.T) (agent.Spec, string) {
	t.Helper()
	evil := `it's $(touch /tmp/pwned) ` + "`id`" + `; rm -rf / "x" $env:PATH` + "\n" + `& calc.exe`
	spec := agent.Spec{Protocol: agent.Protocol, Op: agent.OpApply, Root: "~/hello", App: "hello", Environment: "production",
		SHA: strings.Repeat("c", 40), Deployer: evil, Vars: map[string]string{"GREETING": evil, "BRANCH": "feature/$(reboot)"},
		Start: []string{"python", "app.py", evil}}
	enc, err := spec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return spec, enc
}

func TestScriptsMatchGolden(t *testing.T) {
	spec := agent.Spec{Protocol: agent.Protocol, Op: agent.OpApply, Root: "~/hello", App: "hello", SHA: strings.Repeat("d", 40)}
	enc, _ := spec.Encode()
	for _, c := range []struct{ platform, file string }{{PlatformLinux, "linux.golden"}, {PlatformWindows, "windows.golden"}} {
		lines, err := RenderScript(c.platform, agent.OpApply, enc, goldenAMD64, goldenARM64)
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, c.file, strings.Join(lines, "\n")+"\n")
	}
}

// The safety properties, checked on the rendered text rather than trusted
// to the golden files.
func TestScriptSafetyProperties(t *testing.T) {
	_, enc := hostileSpec(t)
	ps, err := RenderScript(PlatformWindows, agent.OpApply, enc, goldenAMD64, goldenARM64)
	if err != nil {
		t.Fatal(err)
	}
	win := strings.Join(ps, "\n")
	order := func(text string, parts ...string) {
		t.Helper()
		at := -1
		for _, p := range parts {
			i := strings.Index(text, p)
			if i < 0 {
				t.Fatalf("script lacks %q", p)
			}
			if i < at {
				t.Errorf("%q comes before what must precede it", p)
			}
			at = i
		}
	}
	order(win, "$ErrorActionPreference = 'Stop'", "[Console]::OutputEncoding = [Text.UTF8Encoding]::new($false)",
		"Get-FileHash -LiteralPath $Path -Algorithm SHA256", "Invoke-WebRequest -UseBasicParsing", "$got = Get-Sha256 $tmp",
		"if ($got -ne $sha) { throw", "if ((Get-Sha256 $agent) -ne $sha) { throw", "& $agent 'apply' '--result-only' '--spec-b64' '"+enc+"'", "exit $LASTEXITCODE")
	if !strings.HasSuffix(win, "exit $LASTEXITCODE") {
		t.Error("the PowerShell script must end by propagating the agent's exit code")
	}

	sh, err := RenderScript(PlatformLinux, agent.OpApply, enc, goldenAMD64, goldenARM64)
	if err != nil {
		t.Fatal(err)
	}
	lin := strings.Join(sh, "\n")
	order(lin, "set -eu", `if [ ! -f "$agent" ] || [ "$(digest "$agent")" != "$sha" ]`, `if [ "$got" != "$sha" ]`,
		`mv -f "$tmp" "$agent"`, `exec "$agent" 'apply' --result-only --spec-b64 '`+enc+`'`)

	// Nothing a person wrote reaches the script text: only the encoded spec.
	for _, text := range []string{win, lin} {
		for _, bad := range []string{"pwned", "rm -rf", "calc.exe", "feature/", "reboot", "GREETING", "it's"} {
			if strings.Contains(text, bad) {
				t.Errorf("a config value reached the script: %q", bad)
			}
		}
	}
}

func TestRenderRefusesHostileValues(t *testing.T) {
	_, enc := hostileSpec(t)
	good := goldenAMD64
	for name, c := range map[string]struct {
		op, spec string
		bin      AgentBinary
	}{
		"quote in url":       {"apply", enc, AgentBinary{good.SHA256, good.URL + "'; Remove-Item C:\\ -Recurse; '"}},
		"subshell in url":    {"apply", enc, AgentBinary{good.SHA256, good.URL + "$(reboot)"}},
		"backtick in url":    {"apply", enc, AgentBinary{good.SHA256, good.URL + "`whoami`"}},
		"newline in url":     {"apply", enc, AgentBinary{good.SHA256, good.URL + "\nreboot"}},
		"semicolon in url":   {"apply", enc, AgentBinary{good.SHA256, good.URL + ";reboot"}},
		"space in url":       {"apply", enc, AgentBinary{good.SHA256, good.URL + " x"}},
		"smart quote in url": {"apply", enc, AgentBinary{good.SHA256, good.URL + "\u2019"}},
		"file url":           {"apply", enc, AgentBinary{good.SHA256, "file:///etc/passwd"}},
		"uppercase digest":   {"apply", enc, AgentBinary{strings.ToUpper(good.SHA256), good.URL}},
		"short digest":       {"apply", enc, AgentBinary{good.SHA256[:40], good.URL}},
		"digest injection":   {"apply", enc, AgentBinary{good.SHA256[:60] + "';x", good.URL}},
		"quote in spec":      {"apply", enc + "'", good},
		"padding in spec":    {"apply", enc + "==", good},
		"newline in spec":    {"apply", enc + "\n", good},
		"subshell in spec":   {"apply", "$(reboot)", good},
		"empty spec":         {"apply", "", good},
		"unknown op":         {"apply; reboot", enc, good},
	} {
		for _, platform := range []string{PlatformLinux, PlatformWindows} {
			if lines, err := RenderScript(platform, c.op, c.spec, c.bin, goldenARM64); err == nil {
				t.Errorf("%s on %s: rendered instead of refusing:\n%s", name, platform, strings.Join(lines, "\n"))
			}
		}
	}
	if _, err := RenderScript("MacOS", "apply", enc, good, goldenARM64); err == nil {
		t.Error("an unknown platform rendered")
	}
}

// The Linux script, run for real: it downloads with what is there (here
// python3 alone), refuses a binary whose digest differs, caches the
// verified one, and exits with the agent's code.
func TestLinuxScriptRuns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs the POSIX script")
	}
	for _, tool := range []string{"sh", "python3", "sha256sum", "uname", "cut", "mkdir", "chmod", "mv", "rm"} {
		testtool.Need(t, tool)
	}
	// A fake agent: prints its arguments and exits 3.
	fake := []byte("#!/bin/sh\necho \"ran $*\"\nexit 3\n")
	sum := sha256.Sum256(fake)
	digest := hex.EncodeToString(sum[:])
	hits := 0
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path == "/bad" {
			w.Write([]byte("#!/bin/sh\necho evil\n"))
			return
		}
		w.Write(fake)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + l.Addr().String()

	// PATH without curl and wget: the python3 fallback must download.
	bin := t.TempDir()
	for _, tool := range []string{"sh", "sha256sum", "uname", "cut", "mkdir", "chmod", "mv", "rm", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		os.Symlink(p, filepath.Join(bin, tool))
	}
	// The interpreter itself, not a version manager's shim (which needs more of PATH).
	py, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.Symlink(strings.TrimSpace(string(py)), filepath.Join(bin, "python3"))
	cache := t.TempDir()
	runScript := func(url string) (string, int) {
		t.Helper()
		lines, err := RenderScript(PlatformLinux, agent.OpStatus, "c3BlYw", AgentBinary{digest, url}, AgentBinary{digest, url})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(bin, "sh"), "-c", strings.Join(lines, "\n"))
		cmd.Env = []string{"PATH=" + bin, "FERRY_AGENT_CACHE=" + cache, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	out, code := runScript(base + "/bad")
	if code == 0 || !strings.Contains(out, "expected "+digest) || strings.Contains(out, "evil") {
		t.Fatalf("a binary with the wrong digest was not refused (exit %d):\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(cache, digest, "ferry-agent")); err == nil {
		t.Fatal("the refused binary reached the cache")
	}

	out, code = runScript(base + "/agent")
	if code != 3 || !strings.Contains(out, "ran status --result-only --spec-b64 c3BlYw") {
		t.Fatalf("want the agent's output and exit code 3, got exit %d:\n%s", code, out)
	}
	before := hits
	if _, code = runScript(base + "/agent"); code != 3 || hits != before {
		t.Fatalf("a cached, verified agent was downloaded again (exit %d, %d downloads)", code, hits-before)
	}
	// A cached binary that no longer matches is replaced, never run.
	os.WriteFile(filepath.Join(cache, digest, "ferry-agent"), []byte("#!/bin/sh\necho tampered\n"), 0o755)
	if out, code = runScript(base + "/agent"); code != 3 || strings.Contains(out, "tampered") {
		t.Fatalf("a tampered cached agent ran (exit %d):\n%s", code, out)
	}
}
