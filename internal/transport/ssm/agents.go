package ssm

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// AgentSource supplies the ferry-agent binaries that servers run. ferry
// itself never runs them: it uploads them, and each server picks the one
// for its architecture.
type AgentSource interface {
	// Agent returns the path of ferry-agent built for goos and goarch.
	Agent(ctx context.Context, goos, goarch string) (string, error)
}

// AgentFileName is how an AgentDir names the binary for goos/goarch.
func AgentFileName(goos, goarch string) string {
	name := "ferry-agent-" + goos + "-" + goarch
	if goos == "windows" {
		name += ".exe"
	}
	return name
}

// AgentDir is a directory of prebuilt binaries named by AgentFileName, as
// a release ships them (dist/ next to ferry, or FERRY_AGENT_DIR).
type AgentDir string

// Agent implements AgentSource.
func (d AgentDir) Agent(_ context.Context, goos, goarch string) (string, error) {
	p := filepath.Join(string(d), AgentFileName(goos, goarch))
	st, err := os.Stat(p)
	if err != nil {
		return "", fail.New(exitcode.Failed, fmt.Errorf("no ferry-agent for %s/%s in %s", goos, goarch, d), fmt.Sprintf("build it with: GOOS=%s GOARCH=%s CGO_ENABLED=0 go build -o %s ./cmd/ferry-agent", goos, goarch, p))
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a file", p)
	}
	return p, nil
}

// AgentBuild builds ferry-agent from a source checkout with the go tool,
// and keeps each build in CacheDir under a key made of the module's
// sources, so a binary is rebuilt only when the code changed.
type AgentBuild struct {
	// ModuleDir is the checkout (where go.mod says module github.com/ferryhq/ferry).
	ModuleDir string
	// CacheDir holds builds by source key.
	CacheDir string

	once sync.Once
	key  string
	err  error
	mu   sync.Mutex
}

// Agent implements AgentSource.
func (b *AgentBuild) Agent(ctx context.Context, goos, goarch string) (string, error) {
	b.once.Do(func() { b.key, b.err = sourceKey(ctx, b.ModuleDir) })
	if b.err != nil {
		return "", fmt.Errorf("hash agent sources: %w", b.err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	dir := filepath.Join(b.CacheDir, b.key)
	out := filepath.Join(dir, AgentFileName(goos, goarch))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("agent build cache: %w", err)
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags",
		"-s -w -X github.com/ferryhq/ferry/internal/agentcli.Version=src-"+b.key[:12], "-o", tmp, "./cmd/ferry-agent")
	cmd.Dir = b.ModuleDir
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build ferry-agent for %s/%s: %w: %s", goos, goarch, err, strings.TrimSpace(string(msg)))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("build ferry-agent: %w", err)
	}
	return out, nil
}

// sourceKey hashes what decides the agent binary: the go tool's version
// and every non-test Go file, go.mod and go.sum of the module.
func sourceKey(ctx context.Context, dir string) (string, error) {
	h := sha256.New()
	v, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	fmt.Fprintf(h, "go %s\n", strings.TrimSpace(string(v)))
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if name == "go.mod" || name == "go.sum" || (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		n, err := io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "\n%d\n", n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DefaultAgentSource finds binaries the way ferry's documentation says:
// FERRY_AGENT_DIR (read through getenv, the CLI's environment); else dist/
// next to the ferry executable; else, when workDir is inside ferry's own
// source checkout with the go tool on PATH, a build cached under the user
// cache directory. It decides on first use, so commands that never reach
// a server never look. getenv is required: the transport never reads the
// process environment itself.
func DefaultAgentSource(getenv func(string) string, workDir string) AgentSource {
	return &defaultSource{getenv: getenv, workDir: workDir}
}

type defaultSource struct {
	getenv  func(string) string
	workDir string
	once    sync.Once
	src     AgentSource
	err     error
}

// Agent implements AgentSource.
func (d *defaultSource) Agent(ctx context.Context, goos, goarch string) (string, error) {
	d.once.Do(func() { d.src, d.err = d.resolve() })
	if d.err != nil {
		return "", d.err
	}
	return d.src.Agent(ctx, goos, goarch)
}

const agentHint = "set FERRY_AGENT_DIR to a directory holding ferry-agent-linux-amd64, ferry-agent-linux-arm64, " +
	"ferry-agent-windows-amd64.exe and ferry-agent-windows-arm64.exe (a release's dist/), or run ferry from its source checkout with Go installed"

func (d *defaultSource) resolve() (AgentSource, error) {
	if dir := d.getenv("FERRY_AGENT_DIR"); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fail.New(exitcode.Failed, fmt.Errorf("FERRY_AGENT_DIR %s is not a directory", dir), agentHint)
		}
		return AgentDir(dir), nil
	}
	if exe, err := os.Executable(); err == nil {
		dist := filepath.Join(filepath.Dir(exe), "dist")
		if matches, _ := filepath.Glob(filepath.Join(dist, "ferry-agent-*")); len(matches) > 0 {
			return AgentDir(dist), nil
		}
	}
	mod, ok := FindModule(d.workDir)
	if !ok {
		return nil, fail.New(exitcode.Failed, errors.New("no ferry-agent binaries: FERRY_AGENT_DIR is not set, there is no dist/ next to ferry, and this is not ferry's source checkout"), agentHint)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, fail.New(exitcode.Failed, errors.New("no ferry-agent binaries, and no go tool to build them from "+mod), agentHint)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return &AgentBuild{ModuleDir: mod, CacheDir: filepath.Join(cache, "ferry", "agent-builds")}, nil
}

// FindModule walks up from dir to ferry's own source checkout: the
// directory whose go.mod declares module github.com/ferryhq/ferry.
func FindModule(dir string) (string, bool) {
	for dir != "" {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			found := false
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "module github.com/ferryhq/ferry" {
					found = true
					break
				}
			}
			f.Close()
			if found {
				return dir, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}
