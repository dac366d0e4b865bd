package ssmemu_test

import (
	"github.com/ferryhq/ferry/internal/testing/testtool"

	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// missing fails under CI (where every tool must be present, so a lost tool
// cannot silently turn a test green) and skips elsewhere, naming the tool.
func missing(t *testing.T, tool string, err error) { t.Helper(); testtool.Missing(t, tool, err) }

// isolatedEnv is the whole environment of a client subprocess: dummy
// credentials, no config or credentials files, no instance metadata, no
// proxies, a private HOME. Nothing from the caller's AWS setup leaks in.
func isolatedEnv(t *testing.T) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"LANG=C.UTF-8",
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// awsCLI is Debian's AWS CLI v2; the `aws` on PATH may be a v1 from pyenv.
func awsCLI(t *testing.T) string {
	t.Helper()
	const path = "/usr/bin/aws"
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err == nil && !strings.HasPrefix(string(out), "aws-cli/2.") {
		err = &exec.Error{Name: path, Err: errVersion(strings.TrimSpace(string(out)))}
	}
	if err != nil {
		missing(t, "AWS CLI v2 ("+path+")", err)
	}
	return path
}

type errVersion string

func (e errVersion) Error() string { return "not version 2: " + string(e) }

var python struct {
	once sync.Once
	path string
	err  error
}

// pythonWith returns the real interpreter behind `python3` (pyenv shims need
// the caller's HOME, which isolatedEnv replaces) once it can import modules.
func pythonWith(t *testing.T, modules ...string) string {
	t.Helper()
	python.once.Do(func() {
		var out []byte
		out, python.err = exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		python.path = strings.TrimSpace(string(out))
	})
	if python.err != nil {
		missing(t, "python3", python.err)
	}
	for _, m := range modules {
		cmd := exec.Command(python.path, "-c", "import "+m)
		cmd.Env = isolatedEnv(t)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			missing(t, "python3 module "+m, &exec.Error{Name: m, Err: errVersion(strings.TrimSpace(stderr.String()))})
		}
	}
	return python.path
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = isolatedEnv(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}
