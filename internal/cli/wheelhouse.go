package cli

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
	"github.com/ferryhq/ferry/internal/text"
)

// WheelhouseOptions are ferry wheelhouse's.
type WheelhouseOptions struct {
	Common
	// Dir is where the wheels go, relative to the app directory; ""
	// means the first relative pip.find_links entry of ferry.yml, else wheels.
	Dir string
	// Python runs pip on this machine (not the servers' interpreter).
	Python string
	// FindLinks and IndexURL are where pip finds packages here; the
	// index defaults to ferry.yml's pip.index_url, then pip's own.
	FindLinks []string
	IndexURL  string
	NoIndex   bool
	// Platform and PythonVersion fetch the servers' binary wheels
	// (pip download --only-binary=:all:) when they differ from this
	// machine, e.g. win_amd64 and 3.11.
	Platform      string
	PythonVersion string
}

// wheelhouseResult is ferry wheelhouse's --json result.
type wheelhouseResult struct {
	Dir          string   `json:"dir"`
	Requirements string   `json:"requirements"`
	Wheels       []string `json:"wheels"`
}

// NewCmdWheelhouse is ferry wheelhouse; runF as for NewCmdDeploy.
func NewCmdWheelhouse(f *Factory, runF func(*WheelhouseOptions) error) *cobra.Command {
	opts := &WheelhouseOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "wheelhouse",
		Short: "Build a wheelhouse of the app's pinned requirements, for servers without an index",
		Long: `Build the wheels of what the app declares (its requirements file, or
pyproject.toml's [project] dependencies) into a directory of the app, on a
machine that reaches a package index: pip wheel, or pip download
--only-binary=:all: with --platform for servers of another platform.
Commit the directory and set pip: {no_index: true, find_links: [wheels]}
in ferry.yml: the servers install from the release, and a code-only
deploy that ships the same wheelhouse reuses the venv. The wheels' names
are printed to stdout, pip's output goes to stderr.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(opts, &opts.Common, nil, runF, runWheelhouse),
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "the wheelhouse, relative to the app directory (default: ferry.yml's relative pip.find_links entry, else wheels)")
	cmd.Flags().StringVar(&opts.Python, "python", "python3", "the interpreter that runs pip on this machine")
	cmd.Flags().StringArrayVar(&opts.FindLinks, "find-links", nil, "a directory or URL pip also finds packages in (repeatable)")
	cmd.Flags().StringVar(&opts.IndexURL, "index-url", "", "the package index (default: ferry.yml's pip.index_url, else pip's)")
	cmd.Flags().BoolVar(&opts.NoIndex, "no-index", false, "use --find-links only")
	cmd.Flags().StringVar(&opts.Platform, "platform", "", "the servers' platform tag, e.g. win_amd64 or manylinux2014_x86_64 (binary wheels only)")
	cmd.Flags().StringVar(&opts.PythonVersion, "python-version", "", "the servers' Python version for --platform, e.g. 3.11")
	return cmd
}

func runWheelhouse(opts *WheelhouseOptions) error {
	if opts.PythonVersion != "" && opts.Platform == "" {
		return fail.New(exitcode.Usage, errors.New("--python-version needs --platform"), "give the servers' platform too, e.g. --platform win_amd64 --python-version 3.11")
	}
	p, err := opts.loadProject("")
	if err != nil {
		return err
	}
	cfg := p.cfg
	appDir := filepath.Join(p.dir, filepath.FromSlash(cfg.Dir))
	decl, err := pyenv.Declared(appDir, cfg.Requirements)
	if err != nil {
		return fail.New(exitcode.Usage, err, "list the dependencies in pyproject.toml's [project] dependencies, or name a requirements file in ferry.yml")
	}
	if decl.Kind == pyenv.DeclNone {
		return fail.New(exitcode.Usage, fmt.Errorf("the app declares no dependencies: no %s (nor a pyproject.toml beside it) in %s", cfg.Requirements, opts.rel(appDir)), "write requirements.txt (pip freeze or pip-compile) first")
	}
	dir := opts.Dir
	if dir == "" {
		dir = "wheels"
		for _, l := range cfg.Pip.FindLinks {
			if !strings.Contains(l, "://") && !filepath.IsAbs(l) {
				dir = l
				break
			}
		}
	}
	out := filepath.Join(appDir, filepath.FromSlash(dir))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	reqs := filepath.Join(appDir, filepath.FromSlash(decl.File))
	if decl.Kind == pyenv.DeclPyproject {
		tmp, err := os.CreateTemp("", "ferry-wheelhouse-*.txt")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		tmp.Write(decl.Requirements)
		tmp.Close()
		reqs = tmp.Name()
	}
	args := []string{"-m", "pip"}
	if opts.Platform != "" {
		args = append(args, "download", "--only-binary=:all:", "--platform", opts.Platform, "--dest", out)
		if opts.PythonVersion != "" {
			args = append(args, "--python-version", opts.PythonVersion)
		}
	} else {
		args = append(args, "wheel", "--wheel-dir", out)
	}
	args = append(args, "--disable-pip-version-check", "--no-input", "--progress-bar", "off")
	if opts.NoIndex {
		args = append(args, "--no-index")
	}
	for _, l := range opts.FindLinks {
		args = append(args, "--find-links", opts.abs(l))
	}
	args = append(args, "-r", reqs)
	before := wheelsIn(out)
	cmd := exec.CommandContext(opts.context(), opts.Python, args...)
	cmd.Dir = filepath.Dir(filepath.Join(appDir, filepath.FromSlash(decl.File)))
	var tail bytes.Buffer
	cmd.Stdout, cmd.Stderr = opts.Err, &teeWriter{w: opts.Err, tail: &tail}
	cmd.Env = append(os.Environ(), "PIP_NO_COLOR=1")
	if idx := cmp.Or(opts.IndexURL, cfg.Pip.IndexURL); idx != "" {
		// In the environment, not the arguments: it may hold a token.
		cmd.Env = append(cmd.Env, "PIP_INDEX_URL="+idx)
	}
	if err := proc.Run(opts.context(), cmd); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fail.New(exitcode.Usage, fmt.Errorf("wheelhouse: %s is not installed here", opts.Python), "give --python the interpreter that runs pip on this machine")
		}
		return fail.Hint(fmt.Errorf("wheelhouse: pip: %w\n%s", err, strings.Join(text.LastLines(tail.String(), 10), "\n")), "run ferry wheelhouse where the package index is reachable, or give --find-links a directory that holds the packages")
	}
	res := wheelhouseResult{Dir: opts.rel(out), Requirements: decl.File, Wheels: wheelsIn(out)}
	opts.setResult(res)
	if !opts.JSON {
		for _, w := range res.Wheels {
			fmt.Fprintln(opts.Out, w)
		}
		fmt.Fprintf(opts.Err, "%d wheels in %s (%d new)\n", len(res.Wheels), res.Dir, len(res.Wheels)-len(before))
		if !slices.Contains(cfg.Pip.FindLinks, dir) || !cfg.Pip.NoIndex {
			fmt.Fprintf(opts.Err, "hint: commit %s and set pip: {no_index: true, find_links: [%s]} in ferry.yml\n", dir, dir)
		}
	}
	return nil
}

// wheelsIn lists the wheel and sdist names in dir, sorted.
func wheelsIn(dir string) []string {
	entries, _ := os.ReadDir(dir)
	out := []string{}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".whl") || strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip")) {
			out = append(out, n)
		}
	}
	return out
}

// teeWriter passes pip's stderr on and keeps its end for the error.
type teeWriter struct {
	w    interface{ Write([]byte) (int, error) }
	tail *bytes.Buffer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.tail.Write(p)
	if t.tail.Len() > 64<<10 {
		b := t.tail.Bytes()
		t.tail.Reset()
		t.tail.Write(b[len(b)-32<<10:])
	}
	return t.w.Write(p)
}
