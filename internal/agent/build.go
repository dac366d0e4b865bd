package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/pyenv"
)

type probed struct {
	version string
	err     error
}

// releaseID sorts by time and names the commit.
func releaseID(sha string, t time.Time) string {
	return t.UTC().Format("20060102T150405Z") + "-" + sha[:12]
}

// apply runs deployPlan. The interpreter is asked its version while the
// lock and the fetch run (through a version manager's shim that costs a
// tenth of a second), or its answer is remembered (probecache.go).
func (o *op) apply(ctx context.Context) string {
	o.probe = make(chan probed, 1)
	if o.spec.Python != NoPython {
		go func() {
			v, err := o.probeVersion(ctx, o.spec.Python)
			o.probe <- probed{v, err}
		}()
	}
	return o.execute(ctx, deployPlan)
}

// fetch names the new release, records it as building and exports the
// commit into it.
func fetch(ctx context.Context, o *op) error {
	o.to = releaseID(o.spec.SHA, time.Now())
	for n := 2; o.state.find(o.to) != nil; n++ { // one SHA twice in a second
		o.to = fmt.Sprintf("%s-%d", releaseID(o.spec.SHA, time.Now()), n)
	}
	o.built = true
	o.dir = o.l.release(o.to)
	o.res.Release, o.res.Previous = o.to, o.from
	full := runConfigOf(o.spec)
	pub, sec := sealRun(full)
	o.remember(o.to, full)
	if err := o.l.writeSecrets(o.to, sec); err != nil {
		return err
	}
	o.state.Releases = append(o.state.Releases, Release{ID: o.to, SHA: o.spec.SHA, Created: time.Now().UTC(), Deployer: o.spec.Deployer, RunURL: redactURL(o.spec.RunURL), Status: StatusBuilding, Run: pub})
	if err := o.saveState(); err != nil {
		return err
	}
	// Built beside its final name and renamed at the end: a release
	// directory without .partial is always complete.
	partial := o.dir + ".partial"
	os.RemoveAll(partial)
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return err
	}
	var err error
	switch o.spec.Source.Kind {
	case "git":
		err = fetchGit(ctx, o.l, o.spec.Source, o.spec.SHA, partial)
	case "archive":
		err = fetchArchive(ctx, o.l, o.spec.Source, partial)
	}
	if err != nil {
		os.RemoveAll(partial)
		return err
	}
	if err := os.WriteFile(filepath.Join(partial, "REVISION"), []byte(o.spec.SHA+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(partial, o.dir); err != nil {
		return fmt.Errorf("complete release: %w", err)
	}
	fslink.SyncDir(o.l.releases())
	return nil
}

func (o *op) requirementsPath() string {
	return filepath.Join(o.dir, filepath.FromSlash(o.spec.Requirements))
}

// makeVenv creates the release's venv, or reuses one with the same key.
func makeVenv(ctx context.Context, o *op) error {
	if o.spec.Python == NoPython {
		o.reused = true
		return skip("python: none, the app runs as given")
	}
	reqs, err := os.ReadFile(o.requirementsPath())
	if errors.Is(err, os.ErrNotExist) {
		reqs = nil // no requirements: an empty venv
	} else if err != nil {
		return fmt.Errorf("read requirements: %w", err)
	}
	p := <-o.probe
	if p.err != nil {
		return p.err
	}
	version := p.version
	opts := o.pipOptions()
	o.venvKey = pyenv.Key(version, reqs, opts)
	o.state.find(o.to).Venv = o.venvKey
	dir := o.l.venv(o.venvKey)
	if pyenv.Complete(dir) {
		o.reused = true
		o.res.VenvReused = true
		return skip("reusing venv %s: interpreter, requirements and pip options unchanged", o.venvKey)
	}
	return pyenv.Create(ctx, o.spec.Python, dir)
}

// pipOptions resolves relative find-links against the release, so a
// repository can carry its own wheels.
func (o *op) pipOptions() pyenv.PipOptions {
	opts := o.spec.Pip
	opts.FindLinks = nil
	for _, f := range o.spec.Pip.FindLinks {
		if !strings.Contains(f, "://") && !filepath.IsAbs(f) {
			f = filepath.Join(o.dir, filepath.FromSlash(f))
		}
		opts.FindLinks = append(opts.FindLinks, f)
	}
	return opts
}

// install fills a new venv with the requirements.
func install(ctx context.Context, o *op) error {
	if o.spec.Python == NoPython {
		return skip("no virtualenv to install into")
	}
	if o.reused {
		return skip("venv reused")
	}
	dir := o.l.venv(o.venvKey)
	if _, err := os.Stat(o.requirementsPath()); errors.Is(err, os.ErrNotExist) {
		o.warn(fmt.Sprintf("%s not found in the release: the venv has no packages", o.spec.Requirements))
	} else if err := pyenv.Install(ctx, dir, o.requirementsPath(), o.pipOptions(), o.l.pipLog(o.to)); err != nil {
		os.RemoveAll(dir) // never reuse a venv pip did not finish
		return fail.Hint(err, "pip's log is in shared/logs/pip-"+o.to+".log")
	}
	return pyenv.MarkComplete(dir, o.venvKey)
}

// link makes the shared paths and the env file appear in the release.
func link(_ context.Context, o *op) error {
	var linked []string
	paths := append([]string(nil), o.spec.Shared...)
	if o.spec.EnvFile != "" {
		src := filepath.Join(o.l.shared(), filepath.FromSlash(o.spec.EnvFile))
		if _, err := os.Stat(src); err != nil {
			o.warn(fmt.Sprintf("env_file %s is not in %s yet: the app starts without it", o.spec.EnvFile, o.l.shared()))
		} else {
			paths = append(paths, o.spec.EnvFile)
		}
	}
	for _, p := range paths {
		src := filepath.Join(o.l.shared(), filepath.FromSlash(p))
		dst := filepath.Join(o.dir, filepath.FromSlash(p))
		if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
			// First deploy: seed shared/ from the release's copy, or
			// make a directory for data that will come.
			if _, err := os.Stat(dst); err == nil {
				if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
					return err
				}
				if err := os.Rename(dst, src); err != nil {
					return fmt.Errorf("seed shared %s: %w", p, err)
				}
			} else if err := os.MkdirAll(src, 0o755); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := fslink.Share(src, dst); err != nil {
			return fmt.Errorf("link shared %s: %w", p, err)
		}
		linked = append(linked, p)
	}
	// Saved with the switch: a crash before it finds "building", which
	// recovery marks as interrupted, correctly, since it never ran.
	o.state.set(o.to, StatusReady, "")
	// The release's record of itself, for a state.json rebuilt from disk.
	if b, err := json.Marshal(o.state.find(o.to)); err == nil {
		if err := os.WriteFile(filepath.Join(o.dir, releaseMeta), b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", releaseMeta, err)
		}
	}
	if len(linked) == 0 {
		return skip("nothing shared to link")
	}
	return nil
}
