package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
	"github.com/ferryhq/ferry/internal/text"
)

// Runtimes: what the app runs on, which decides what the venv and
// install steps build.
const (
	// RuntimePython (the default): a venv keyed by the interpreter, the
	// dependency declaration and the pip options.
	RuntimePython = "python"
	// RuntimeNode: node_modules installed with npm ci, keyed by
	// package-lock.json and the node version, shared by the releases
	// with the same key as venvs are.
	RuntimeNode = "node"
	// RuntimeNone: a self-contained program (a Go or .NET binary, a Java
	// app that brings its runtime) run as given; python: none means this.
	RuntimeNone = "none"
)

// runtime is the spec's runtime: python: none, the older spelling,
// means none.
func (s Spec) runtime() string {
	switch {
	case s.Runtime != "":
		return s.Runtime
	case s.Python == NoPython:
		return RuntimeNone
	}
	return RuntimePython
}

// nodeLock is the file whose bytes key a node_modules.
const nodeLock = "package-lock.json"

// nodeVersion asks node its version, for the key: a native module
// built for one node does not load in another.
func nodeVersion(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "node", "--version")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := proc.Run(ctx, cmd); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fail.Hint(errors.New("node is not installed on this server (runtime: node)"), "install Node.js (node and npm on the PATH of the account the agent runs as)")
		}
		return "", fmt.Errorf("node --version: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// nodeKey keys a node_modules: node's version and the lock file's bytes.
func nodeKey(version string, lock []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "node\x00%s\x00omit-dev\x00lock\x00", version)
	h.Write(lock)
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// makeNodeModules is the venv step of runtime node: the key, and whether
// a complete node_modules with it is there to reuse.
func makeNodeModules(_ context.Context, o *op) error {
	if _, err := os.Stat(filepath.Join(o.dir, "package.json")); errors.Is(err, os.ErrNotExist) {
		o.reused = true
		return skip("no package.json in the release: nothing to install")
	}
	lock, err := os.ReadFile(filepath.Join(o.dir, nodeLock))
	if errors.Is(err, os.ErrNotExist) {
		return fail.Hint(errors.New("package.json without package-lock.json: npm ci installs from the lock file only"), "run npm install and commit package-lock.json")
	} else if err != nil {
		return err
	}
	p := <-o.probe
	if p.err != nil {
		return p.err
	}
	o.nodeKey = nodeKey(p.version, lock)
	o.state.find(o.to).NodeModules = o.nodeKey
	if pyenv.Complete(o.l.nodeModules(o.nodeKey)) {
		o.reused = true
		o.res.VenvReused = true
		return skip("reusing node_modules %s: node and %s unchanged", o.nodeKey, nodeLock)
	}
	return nil
}

// installNodeModules runs npm ci --omit=dev in the release, where
// package.json's relative file: dependencies resolve, then moves the
// node_modules it made to node_modules/<key> under the root.
func installNodeModules(ctx context.Context, o *op) error {
	if o.nodeKey == "" {
		return skip("nothing to install")
	}
	if o.reused {
		return skip("node_modules reused")
	}
	dst := o.l.nodeModules(o.nodeKey)
	os.RemoveAll(dst)
	built := filepath.Join(o.dir, "node_modules")
	os.RemoveAll(built)
	logPath := o.l.npmLog(o.to)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("npm log: %w", err)
	}
	defer logf.Close()
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, "npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--no-update-notifier")
	cmd.Dir = o.dir
	cmd.Stdout = logf
	cmd.Stderr = &text.TailWriter{W: logf, Tail: &tail}
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "npm_config_loglevel=warn")
	if err := proc.Run(ctx, cmd); err != nil {
		os.RemoveAll(built)
		if errors.Is(err, exec.ErrNotFound) {
			return fail.Hint(errors.New("npm is not installed on this server (runtime: node)"), "install Node.js with npm on the server")
		}
		return fail.Hint(fmt.Errorf("npm ci: %w\n%s", err, strings.Join(text.LastLines(tail.String(), 15), "\n")), "npm's log is in shared/logs/npm-"+o.to+".log")
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(built); errors.Is(err, os.ErrNotExist) {
		// A lock without dependencies: npm makes no node_modules.
		err = os.MkdirAll(dst, 0o755)
		if err != nil {
			return err
		}
	} else if err := os.Rename(built, dst); err != nil {
		return fmt.Errorf("keep node_modules: %w", err)
	}
	return pyenv.MarkComplete(dst, o.nodeKey) // the venvs' marker: written last
}

// linkNodeModules makes the release's node_modules the shared one of its
// key (a symlink; a junction on Windows): node resolves require() through
// it from the release's own files.
func (o *op) linkNodeModules() error {
	if o.nodeKey == "" {
		return nil
	}
	dst := filepath.Join(o.dir, "node_modules")
	os.RemoveAll(dst) // one committed to the repository: npm ci would replace it too
	if err := fslink.Share(o.l.nodeModules(o.nodeKey), dst); err != nil {
		return fmt.Errorf("link node_modules: %w", err)
	}
	return nil
}
