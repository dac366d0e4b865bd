package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
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
	switch o.spec.runtime() {
	case RuntimePython:
		go func() {
			v, err := o.probeVersion(ctx, o.spec.Python)
			o.probe <- probed{v, err}
		}()
	case RuntimeNode:
		go func() {
			v, err := nodeVersion(ctx)
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
	if o.from == "" {
		o.exported = exportedFiles(partial)
	}
	if err := os.Rename(partial, o.dir); err != nil {
		return fmt.Errorf("complete release: %w", err)
	}
	fslink.SyncDir(o.l.releases())
	return nil
}

// makeVenv creates the release's venv, or reuses one with the same key:
// the interpreter's version, what the app declares (a requirements file
// or pyproject.toml's dependencies) and the pip options as written.
func makeVenv(ctx context.Context, o *op) error {
	switch o.spec.runtime() {
	case RuntimeNone:
		o.reused = true
		return skip("runtime none, the app runs as given")
	case RuntimeNode:
		return makeNodeModules(ctx, o)
	}
	decl, err := pyenv.Declared(o.dir, o.spec.Requirements)
	if err != nil {
		return fail.Hint(err, "list the dependencies in pyproject.toml's [project] dependencies, or name a requirements file in ferry.yml (requirements:)")
	}
	o.decl = decl
	p := <-o.probe
	if p.err != nil {
		return fail.Hint(p.err, pythonHint)
	}
	keyOpts, wheelhouses := o.keyedPipOptions()
	o.venvKey = pyenv.Key(p.version, decl.Keyed, keyOpts, wheelhouses)
	o.state.find(o.to).Venv = o.venvKey
	dir := o.l.venv(o.venvKey)
	if pyenv.Complete(dir) {
		o.reused = true
		o.res.VenvReused = true
		return skip("reusing venv %s: interpreter, %s and pip options unchanged", o.venvKey, declaredWhat(decl))
	}
	if err := pyenv.Create(ctx, o.spec.Python, dir, o.spec.Pip.SystemSitePackages); err != nil {
		return fail.Hint(err, pythonHint)
	}
	return nil
}

// pythonHint is the venv step's advice when the interpreter fails it.
const pythonHint = "check the python interpreter named in ferry.yml exists on the server with its venv module"

// declaredWhat names the declaration in messages.
func declaredWhat(d pyenv.Declaration) string {
	switch d.Kind {
	case pyenv.DeclPyproject:
		return d.File + " dependencies"
	case pyenv.DeclRequirements:
		return d.File
	}
	return "requirements (none)"
}

// keyedPipOptions are the pip options as ferry.yml writes them, for the
// key: a relative find-links entry is a directory of the release, whose
// absolute path differs in every release, so it keys as written, with
// what the directory offers (its wheels' names and sizes) beside it. A
// code-only deploy that ships the same wheelhouse reuses the venv.
func (o *op) keyedPipOptions() (pyenv.PipOptions, string) {
	var digests []string
	for _, f := range o.spec.Pip.FindLinks {
		if relativeLink(f) {
			digests = append(digests, f+"="+pyenv.WheelhouseDigest(filepath.Join(o.dir, filepath.FromSlash(f))))
		}
	}
	return o.spec.Pip, strings.Join(digests, "\x00")
}

// relativeLink says a find-links entry names a directory of the release.
func relativeLink(f string) bool {
	return !strings.Contains(f, "://") && !filepath.IsAbs(f) && !isAbs(f)
}

// pipOptions resolves relative find-links against the release, so a
// repository can carry its own wheels, for pip itself.
func (o *op) pipOptions() pyenv.PipOptions {
	opts := o.spec.Pip
	opts.FindLinks = nil
	for _, f := range o.spec.Pip.FindLinks {
		if relativeLink(f) {
			f = filepath.Join(o.dir, filepath.FromSlash(f))
		}
		opts.FindLinks = append(opts.FindLinks, f)
	}
	opts.RequireHashes = o.decl.Hashes
	return opts
}

// install fills a new venv with what the app declares. pyproject.toml's
// dependencies go to pip as a requirements file written into the venv;
// the app's own package is not installed (see pyenv.Declaration.Package).
func install(ctx context.Context, o *op) error {
	switch o.spec.runtime() {
	case RuntimeNone:
		return skip("no virtualenv to install into")
	case RuntimeNode:
		return installNodeModules(ctx, o)
	}
	if o.reused {
		return skip("venv reused")
	}
	dir := o.l.venv(o.venvKey)
	reqs := ""
	switch o.decl.Kind {
	case pyenv.DeclNone:
		o.warn(fmt.Sprintf("%s not found in the release (nor a pyproject.toml beside it): the venv has no packages", o.spec.Requirements))
	case pyenv.DeclRequirements:
		reqs = filepath.Join(o.dir, filepath.FromSlash(o.decl.File))
	case pyenv.DeclPyproject:
		if len(o.decl.Requirements) == 0 {
			break
		}
		reqs = filepath.Join(dir, "ferry-requirements.txt")
		if err := os.WriteFile(reqs, o.decl.Requirements, 0o644); err != nil {
			return fmt.Errorf("write the dependencies of %s: %w", o.decl.File, err)
		}
	}
	if reqs != "" {
		// From the directory of the declaring file, where its relative
		// paths (-r other.txt, ./vendor/x.whl) resolve.
		from := filepath.Join(o.dir, filepath.FromSlash(path.Dir(o.decl.File)))
		if err := pyenv.Install(ctx, dir, from, reqs, o.pipOptions(), o.l.pipLog(o.to)); err != nil {
			os.RemoveAll(dir) // never reuse a venv pip did not finish
			return fail.Hint(err, "pip's log is in shared/logs/pip-"+o.to+".log")
		}
	}
	return pyenv.MarkComplete(dir, o.venvKey)
}

// link makes the shared paths and the env file appear in the release.
func link(_ context.Context, o *op) error {
	var linked []string
	if err := o.linkNodeModules(); err != nil {
		return err
	}
	if o.nodeKey != "" {
		linked = append(linked, "node_modules")
	}
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
