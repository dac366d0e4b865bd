package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/health"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
)

// deploy is the state one apply carries from step to step.
type deploy struct {
	*op
	id       string // new release ID
	dir      string // its directory
	venvKey  string
	reused   bool
	old      string // release current before this deploy
	stopped  bool   // the old process was stopped: from here on, failure means restore
	switched bool
	handle   proc.Handle
	probe    chan probed
}

type probed struct {
	version string
	err     error
}

// releaseID sorts by time and names the commit.
func releaseID(sha string, t time.Time) string {
	return t.UTC().Format("20060102T150405Z") + "-" + sha[:12]
}

func (o *op) apply(ctx context.Context) string {
	d := &deploy{op: o, probe: make(chan probed, 1)}
	// Ask the interpreter its version while the lock and the fetch run:
	// through a version manager's shim that costs a tenth of a second.
	if o.spec.Python != NoPython {
		go func() {
			v, err := pyenv.Version(ctx, o.spec.Python)
			d.probe <- probed{v, err}
		}()
	}
	var unlock func()
	if err := o.run.run(ctx, o.lockStep(ctx, &unlock)); err != nil {
		return o.lockFailure(err)
	}
	defer unlock()
	d.old = o.state.Current
	o.res.Previous = d.old
	d.id = releaseID(o.spec.SHA, time.Now())
	for n := 2; o.state.find(d.id) != nil; n++ { // one SHA twice in a second
		d.id = fmt.Sprintf("%s-%d", releaseID(o.spec.SHA, time.Now()), n)
	}
	d.dir = o.l.release(d.id)
	o.res.Release = d.id

	before := []Step{
		step{"fetch", d.fetch},
		step{"venv", d.venv},
		step{"install", d.install},
		step{"link", d.link},
	}
	for _, s := range before {
		if err := o.run.run(ctx, s); err != nil {
			return d.failBeforeSwitch(s.String(), err)
		}
	}
	after := []Step{
		step{"stop", d.stop},
		step{"switch", d.switchTo},
		step{"start", d.start},
		step{"health", d.health},
	}
	for _, s := range after {
		if err := o.run.run(ctx, s); err != nil {
			return d.restore(ctx, s.String(), err)
		}
	}
	o.state.set(d.id, StatusHealthy, "")
	if err := o.saveState(); err != nil {
		o.warn(err.Error())
	}
	o.run.run(ctx, step{"prune", func(context.Context) error { return prune(o) }})
	return OutcomeDeployed
}

func (d *deploy) fetch(ctx context.Context) error {
	d.state.Releases = append(d.state.Releases, Release{ID: d.id, SHA: d.spec.SHA, Created: time.Now().UTC(), Deployer: d.spec.Deployer, RunURL: d.spec.RunURL, Status: StatusBuilding, Run: runConfigOf(d.spec)})
	if err := d.saveState(); err != nil {
		return err
	}
	// Built beside its final name and renamed at the end: a release
	// directory without .partial is always complete.
	partial := d.dir + ".partial"
	os.RemoveAll(partial)
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return err
	}
	var err error
	switch d.spec.Source.Kind {
	case "git":
		err = fetchGit(ctx, d.l, d.spec.Source, d.spec.SHA, partial)
	case "archive":
		err = fetchArchive(ctx, d.l, d.spec.Source, partial)
	}
	if err != nil {
		os.RemoveAll(partial)
		return err
	}
	if err := os.WriteFile(filepath.Join(partial, "REVISION"), []byte(d.spec.SHA+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(partial, d.dir); err != nil {
		return fmt.Errorf("complete release: %w", err)
	}
	fslink.SyncDir(d.l.releases())
	return nil
}

func (d *deploy) requirementsPath() string {
	return filepath.Join(d.dir, filepath.FromSlash(d.spec.Requirements))
}

func (d *deploy) venv(ctx context.Context) error {
	if d.spec.Python == NoPython {
		d.reused = true
		return skip("python: none, the app runs as given")
	}
	reqs, err := os.ReadFile(d.requirementsPath())
	if errors.Is(err, os.ErrNotExist) {
		reqs = nil // no requirements: an empty venv
	} else if err != nil {
		return fmt.Errorf("read requirements: %w", err)
	}
	p := <-d.probe
	if p.err != nil {
		return p.err
	}
	version := p.version
	opts := d.pipOptions()
	d.venvKey = pyenv.Key(version, reqs, opts)
	d.state.find(d.id).Venv = d.venvKey
	dir := d.l.venv(d.venvKey)
	if pyenv.Complete(dir) {
		d.reused = true
		d.res.VenvReused = true
		return skip("reusing venv %s: interpreter, requirements and pip options unchanged", d.venvKey)
	}
	return pyenv.Create(ctx, d.spec.Python, dir)
}

// pipOptions resolves relative find-links against the release, so a
// repository can carry its own wheels.
func (d *deploy) pipOptions() pyenv.PipOptions {
	opts := d.spec.Pip
	opts.FindLinks = nil
	for _, f := range d.spec.Pip.FindLinks {
		if !strings.Contains(f, "://") && !filepath.IsAbs(f) {
			f = filepath.Join(d.dir, filepath.FromSlash(f))
		}
		opts.FindLinks = append(opts.FindLinks, f)
	}
	return opts
}

func (d *deploy) install(ctx context.Context) error {
	if d.spec.Python == NoPython {
		return skip("no virtualenv to install into")
	}
	if d.reused {
		return skip("venv reused")
	}
	dir := d.l.venv(d.venvKey)
	if _, err := os.Stat(d.requirementsPath()); errors.Is(err, os.ErrNotExist) {
		d.warn(fmt.Sprintf("%s not found in the release: the venv has no packages", d.spec.Requirements))
	} else if err := pyenv.Install(ctx, dir, d.requirementsPath(), d.pipOptions(), d.l.pipLog(d.id)); err != nil {
		os.RemoveAll(dir) // never reuse a venv pip did not finish
		return err
	}
	return pyenv.MarkComplete(dir, d.venvKey)
}

func (d *deploy) link(ctx context.Context) error {
	var linked []string
	paths := append([]string(nil), d.spec.Shared...)
	if d.spec.EnvFile != "" {
		src := filepath.Join(d.l.shared(), filepath.FromSlash(d.spec.EnvFile))
		if _, err := os.Stat(src); err != nil {
			d.warn(fmt.Sprintf("env_file %s is not in %s yet: the app starts without it", d.spec.EnvFile, d.l.shared()))
		} else {
			paths = append(paths, d.spec.EnvFile)
		}
	}
	for _, p := range paths {
		src := filepath.Join(d.l.shared(), filepath.FromSlash(p))
		dst := filepath.Join(d.dir, filepath.FromSlash(p))
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
	d.state.set(d.id, StatusReady, "")
	if len(linked) == 0 {
		return skip("nothing shared to link")
	}
	return nil
}

func (d *deploy) stop(ctx context.Context) error {
	if _, running := d.sup.current(d.op); !running {
		if addr := d.healthAddr(); addr != "" && portTaken(addr) {
			return fmt.Errorf("port %s is already in use by a process ferry did not start", addr)
		}
		return skip("no process running")
	}
	d.stopped = true
	if err := d.sup.stop(d.op, d.stopTimeoutOf(d.state.find(d.old))); err != nil {
		return err
	}
	if addr := d.healthAddr(); addr != "" && !waitPortFree(ctx, addr, 5*time.Second) {
		return fmt.Errorf("port %s is still in use after the old release stopped", addr)
	}
	return nil
}

func (d *deploy) switchTo(ctx context.Context) error {
	d.state.Previous = d.state.Current
	d.state.Current = d.id
	d.state.set(d.id, StatusStarting, "")
	if err := d.saveState(); err != nil {
		return err
	}
	d.switched = true
	d.run.crashAt("switch:state-saved")
	if err := d.l.pointCurrent(d.id); err != nil {
		return fmt.Errorf("point current at %s: %w", d.id, err)
	}
	return nil
}

func (d *deploy) start(ctx context.Context) error {
	h, err := d.sup.start(d.op, d.state.find(d.id))
	d.handle = h
	return err
}

func (d *deploy) health(ctx context.Context) error {
	return checkRelease(ctx, d.op, d.handle, d.state.find(d.id))
}

// appSpec is how release r's app starts: its command with python meaning
// its venv's interpreter, in its directory, with its environment.
func appSpec(o *op, r *Release) (proc.Spec, error) {
	id := r.ID
	run := o.runOf(r)
	dir := o.l.release(id)
	venv := ""
	if r.Venv != "" {
		venv = o.l.venv(r.Venv)
	}
	argv := append([]string(nil), run.Start...)
	switch {
	case venv == "":
		if !filepath.IsAbs(argv[0]) && (strings.ContainsAny(argv[0], `/\`) || fileExists(filepath.Join(dir, argv[0]))) {
			argv[0] = filepath.Join(dir, filepath.FromSlash(argv[0]))
		}
	case argv[0] == "python" || argv[0] == "python3":
		argv[0] = pyenv.Interpreter(venv)
	case argv[0] == "pythonw":
		argv[0] = strings.TrimSuffix(pyenv.Interpreter(venv), "python.exe") + "pythonw.exe"
	default:
		if !filepath.IsAbs(argv[0]) && strings.ContainsAny(argv[0], `/\`) {
			argv[0] = filepath.Join(dir, filepath.FromSlash(argv[0]))
		}
	}
	env, err := appEnv(o, r, venv)
	if err != nil {
		return proc.Spec{}, err
	}
	return proc.Spec{Argv: argv, Dir: dir, Env: env, LogPath: o.l.appLog(id)}, nil
}

// appEnv is the agent's own environment (PATH, SYSTEMROOT…), the venv
// first on PATH, the env file's variables, then the configured ones.
func appEnv(o *op, r *Release, venv string) ([]string, error) {
	run := o.runOf(r)
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FERRY_AGENT_") {
			continue
		}
		vars[k] = v
	}
	if venv != "" {
		bin := filepath.Dir(pyenv.Interpreter(venv))
		pathKey := "PATH"
		for k := range vars {
			if strings.EqualFold(k, "PATH") {
				pathKey = k
			}
		}
		vars[pathKey] = bin + string(os.PathListSeparator) + vars[pathKey]
		vars["VIRTUAL_ENV"] = venv
		delete(vars, "PYTHONHOME")
	}
	if run.EnvFile != "" {
		file := filepath.Join(o.l.shared(), filepath.FromSlash(run.EnvFile))
		fileVars, err := readEnvFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for k, v := range fileVars {
			vars[k] = v
		}
	}
	for k, v := range run.Vars {
		vars[k] = v
	}
	vars["FERRY_SHA"] = r.SHA
	vars["FERRY_RELEASE"] = r.ID
	vars["FERRY_ENVIRONMENT"] = o.spec.Environment
	vars["PYTHONUNBUFFERED"] = "1"
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out, nil
}

// readEnvFile reads KEY=VALUE lines (optionally "export ", quotes, #
// comments), the dotenv subset people write by hand.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !varRe.MatchString(k) {
			return nil, fmt.Errorf("%s:%d: not a KEY=VALUE line", filepath.Base(path), i+1)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, nil
}

// checkRelease waits until the started process answers healthy with sha.
func checkRelease(ctx context.Context, o *op, h proc.Handle, r *Release) error {
	hs := o.runOf(r).Health
	c := health.Check{
		URL: o.healthURL(r), Status: hs.Status,
		VersionField: hs.VersionField, Version: r.SHA,
		Deadline: hs.Deadline, Interval: hs.Interval,
		Alive: func() bool { return o.sup.alive(o, h) },
	}
	res, err := health.Wait(ctx, c)
	if err != nil {
		return err
	}
	o.emit(Event{Event: "log", Msg: fmt.Sprintf("healthy after %d attempts in %s: %s", res.Attempts, res.Elapsed.Round(time.Millisecond), res.Last)})
	return nil
}

func (d *deploy) healthAddr() string {
	u, err := url.Parse(d.healthURL(nil))
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if host != "127.0.0.1" && host != "localhost" && host != "::1" {
		return "" // not this machine's port: nothing to check
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(host, port)
}

func portTaken(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func waitPortFree(ctx context.Context, addr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for portTaken(addr) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// failBeforeSwitch: nothing that serves was touched.
func (d *deploy) failBeforeSwitch(stepName string, err error) string {
	d.state.set(d.id, StatusFailed, stepName+": "+firstLine(err.Error()))
	if serr := d.saveState(); serr != nil {
		d.warn(serr.Error())
	}
	hint := map[string]string{
		"fetch":   "check that the commit is pushed and the repository URL is reachable from the server",
		"venv":    "check the python interpreter named in ferry.yml exists on the server with its venv module",
		"install": "pip's log is in shared/logs/pip-" + d.id + ".log; fix requirements.txt or the pip options in ferry.yml",
		"link":    "check the shared paths in ferry.yml",
	}[stepName]
	d.fail(fmt.Errorf("%s: %w", stepName, err), hint)
	if d.old != "" {
		d.res.Hints = append(d.res.Hints, "the current release "+d.old+" is untouched and still serving")
	}
	return OutcomeFailed
}

// restore runs when a step failed after the old process was stopped:
// switch back, restart the previous release and prove it healthy, keep
// the failed one marked bad with its log.
func (d *deploy) restore(ctx context.Context, stepName string, cause error) string {
	d.res.LogTail = tailFile(d.l.appLog(d.id), 50)
	if d.handle.PID != 0 {
		d.sup.stop(d.op, d.stopTimeoutOf(d.state.find(d.id)))
	}
	d.state.set(d.id, StatusBad, stepName+": "+firstLine(cause.Error()))
	d.fail(fmt.Errorf("%s: %w", stepName, cause), "")
	if d.old == "" || d.state.find(d.old) == nil {
		// A first deploy has nothing to return to.
		d.state.Current = ""
		d.state.Previous = ""
		if err := d.saveState(); err != nil {
			d.warn(err.Error())
		}
		d.l.pointCurrent("")
		d.res.Hints = append(d.res.Hints, "this was the first deploy, so nothing serves; see the log tail and shared/logs/app-"+d.id+".log")
		return OutcomeFailed
	}
	if !d.stopped && !d.switched {
		return OutcomeFailed
	}
	err := d.run.run(ctx, step{"rollback", func(ctx context.Context) error {
		prev := d.state.find(d.old)
		d.state.Current = d.old
		d.state.Previous = d.id
		if err := d.saveState(); err != nil {
			return err
		}
		if err := d.l.pointCurrent(d.old); err != nil {
			return err
		}
		h, err := d.sup.start(d.op, prev)
		if err != nil {
			return err
		}
		if err := checkRelease(ctx, d.op, h, prev); err != nil {
			return fmt.Errorf("previous release %s is not healthy either: %w", d.old, err)
		}
		return nil
	}})
	if err != nil {
		d.res.Hints = append(d.res.Hints, "rollback failed: nothing may be serving. Check shared/logs/ and run ferry status, then ferry rollback --to a known good SHA")
		d.res.Error += "; rollback: " + err.Error()
		return OutcomeRollbackFailed
	}
	d.res.Hints = append(d.res.Hints, fmt.Sprintf("rolled back to %s, which serves again; the failed release %s is kept for diagnosis (log: shared/logs/app-%s.log)", d.old, d.id, d.id))
	return OutcomeRolledBack
}

func tailFile(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// NoPython as the interpreter means the app is not Python (or brings its
// own runtime): no virtualenv, the start command runs as given.
const NoPython = "none"

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
