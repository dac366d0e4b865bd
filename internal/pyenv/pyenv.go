// Package pyenv creates and fills the virtualenvs that releases run in.
// A venv is keyed by what decides its contents (interpreter version,
// requirements bytes, pip options), created in the directory where it will
// live, because venvs are not relocatable, and reused whenever the key
// matches, so a deploy that changes only code installs nothing.
package pyenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/text"
)

// PipOptions are the pip install options that change what gets installed.
type PipOptions struct {
	IndexURL  string   `json:"index_url,omitempty"`
	FindLinks []string `json:"find_links,omitempty"`
	NoIndex   bool     `json:"no_index,omitempty"`
	// SystemSitePackages makes the venv see the interpreter's own
	// packages (servers whose packages come from the OS).
	SystemSitePackages bool `json:"system_site_packages,omitempty"`
	// RequireHashes runs pip with --require-hashes: set by the agent for
	// a requirements file that pins by hash, never sent in a spec (it
	// follows from the file, which the key already covers).
	RequireHashes bool `json:"-"`
}

// completeMarker is written last: a venv directory without it was cut
// short and is rebuilt.
const completeMarker = ".ferry-complete"

// Version asks the interpreter for its exact version and platform.
func Version(ctx context.Context, python string) (string, error) {
	// -I -S: no site, no user environment; a tenth of a normal start.
	cmd := exec.CommandContext(ctx, python, "-I", "-S", "-c", "import sys;print(sys.version);print(sys.implementation.cache_tag);print(sys.maxsize);print(sys.executable)")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := proc.Run(ctx, cmd); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("python %s: %w: %s", python, err, strings.Join(text.LastLines(stderr.String(), 5), "\n"))
		}
		return "", fmt.Errorf("python %s: %w", python, err)
	}
	return strings.TrimSpace(out.String()), nil
}

// Key returns the venv key for the inputs: the interpreter's version, the
// dependency declaration (Declaration.Keyed) and the pip options as
// written in ferry.yml, so that a relative find-links entry keys the same
// in every release. wheelhouses identifies what the release's own
// find-links directories offer (WheelhouseDigest of each, in order); ""
// when there are none, which keys as before it existed.
func Key(pythonVersion string, requirements []byte, opts PipOptions, wheelhouses string) string {
	h := sha256.New()
	o, _ := json.Marshal(opts)
	fmt.Fprintf(h, "python\x00%s\x00opts\x00%s\x00reqs\x00", pythonVersion, o)
	h.Write(requirements)
	if wheelhouses != "" {
		fmt.Fprintf(h, "\x00wheelhouses\x00%s", wheelhouses)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// Interpreter returns the venv's python, where the platform puts it.
func Interpreter(venv string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(venv, "Scripts", "python.exe")
	}
	return filepath.Join(venv, "bin", "python")
}

// Complete reports whether venv was fully built.
func Complete(venv string) bool {
	_, err := os.Stat(filepath.Join(venv, completeMarker))
	return err == nil
}

// Create makes a fresh venv at dir, removing a partial one first
// (create.go: without ensurepip where the base pip can fill it);
// systemSite gives it the interpreter's own packages.
func Create(ctx context.Context, python, dir string, systemSite bool) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove partial venv: %w", err)
	}
	var venvArgs []string
	if systemSite {
		venvArgs = []string{"--system-site-packages"}
	}
	return create(ctx, python, dir, venvArgs)
}

// Install runs pip install -r requirements in venv from dir (where
// relative paths in the requirements resolve), logging pip's output to
// logPath; on failure the error carries pip's last lines.
func Install(ctx context.Context, venv, dir, requirements string, opts PipOptions, logPath string) error {
	args := []string{"install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"}
	if opts.NoIndex {
		args = append(args, "--no-index")
	}
	for _, f := range opts.FindLinks {
		args = append(args, "--find-links", f)
	}
	if opts.RequireHashes {
		args = append(args, "--require-hashes")
	}
	args = append(args, "-r", requirements)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("pip log: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("pip log: %w", err)
	}
	defer logf.Close()
	var tail bytes.Buffer
	cmd := pipCommand(ctx, venv, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = &text.TailWriter{W: logf, Tail: &tail}
	cmd.Env = append(os.Environ(), "PIP_NO_COLOR=1", "PYTHONDONTWRITEBYTECODE=1")
	if opts.IndexURL != "" {
		// In the environment, not the arguments: an index URL may carry
		// credentials, and any user can read a process's arguments.
		cmd.Env = append(cmd.Env, "PIP_INDEX_URL="+opts.IndexURL)
	}
	if err := proc.Run(ctx, cmd); err != nil {
		return fmt.Errorf("pip install -r %s: %w\n%s", filepath.Base(requirements), err, strings.Join(text.LastLines(tail.String(), 15), "\n"))
	}
	return nil
}

// MarkComplete records that venv is ready to be reused.
func MarkComplete(venv, key string) error {
	return os.WriteFile(filepath.Join(venv, completeMarker), []byte(key+"\n"), 0o644)
}
