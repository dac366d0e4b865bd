// Package config reads ferry.yml: the application, how it starts, how its
// health is judged, and the environments it is deployed to. Every problem
// is reported as ferry.yml:LINE:COL with a hint, all at once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/policy"
	"github.com/ferryhq/ferry/internal/startcmd"
	"github.com/ferryhq/ferry/internal/text"
)

// FileName is the configuration file ferry looks for.
const FileName = "ferry.yml"

// Config is the whole of ferry.yml.
type Config struct {
	// App names the application; it names services, logs and records.
	App string `yaml:"app"`
	// Dir is the app's directory inside the repository (monorepos); "." by default.
	Dir string `yaml:"dir"`
	// Start is the command that runs the app, from the release directory.
	// A leading "python" or "python3" means the release's virtualenv interpreter.
	Start string `yaml:"start"`
	// Requirements is the pip requirements file, relative to Dir, or
	// pyproject.toml (its [project] dependencies); requirements.txt, when
	// absent, falls back to a pyproject.toml beside it.
	Requirements string `yaml:"requirements"`
	// Python is the interpreter that creates the virtualenv on the server.
	Python string `yaml:"python"`
	// Runtime is what the app runs on: python (a venv), node (node_modules
	// from npm ci) or none (a self-contained program run as given).
	// python: none, the older spelling, means runtime none.
	Runtime string `yaml:"runtime"`
	Pip     Pip    `yaml:"pip"`
	// Env holds non-secret environment variables for the app.
	Env map[string]string `yaml:"env"`
	// EnvFile names a file in the server's shared/ directory (secrets live
	// there, not in the repository); it is linked into each release and its
	// variables are given to the app.
	EnvFile string `yaml:"env_file"`
	// Shared lists paths (files or directories) that survive releases: each
	// lives in shared/ and is linked into every release.
	Shared []string `yaml:"shared"`
	Health Health   `yaml:"health"`
	// Hooks are commands the agent runs on the server during a deploy.
	Hooks Hooks `yaml:"hooks"`
	// StopTimeout is how long the old process gets to exit gracefully.
	StopTimeout time.Duration `yaml:"stop_timeout"`
	// KeepReleases is how many releases are kept besides current and previous.
	KeepReleases int `yaml:"keep_releases"`
	// KeepFailed caps the failed releases kept for diagnosis.
	KeepFailed int `yaml:"keep_failed"`
	// Gates are the quality gates run by ferry check and before each deploy.
	Gates        gates.Config            `yaml:"gates"`
	Environments map[string]*Environment `yaml:"environments"`
	// Notify lists where deployments are announced (docs/policy.md).
	Notify []notify.Channel `yaml:"notify"`

	// File is where the configuration was read from.
	File string `yaml:"-"`
	// nodes maps dotted key paths to where they were written.
	nodes map[string]*yaml.Node
	// bad holds the paths whose value was of the wrong type.
	bad map[string]bool
}

// Pip holds the options given to pip install.
type Pip struct {
	IndexURL  string   `yaml:"index_url"`
	FindLinks []string `yaml:"find_links"`
	NoIndex   bool     `yaml:"no_index"`
	// SystemSitePackages gives the venv the interpreter's own packages,
	// for servers whose packages come from the OS.
	SystemSitePackages bool `yaml:"system_site_packages"`
}

// Hooks are the commands a deploy runs on each server, in the new
// release's directory with its venv and environment: before_switch
// (migrations: its failure stops the deploy with nothing changed),
// after_healthy and on_failure (their failure is a warning).
type Hooks struct {
	BeforeSwitch Commands `yaml:"before_switch"`
	AfterHealthy Commands `yaml:"after_healthy"`
	OnFailure    Commands `yaml:"on_failure"`
	// Timeout bounds each command (default 10m).
	Timeout time.Duration `yaml:"timeout"`
}

// Commands are argument vectors, written as one vector
// ([python, -m, flask, init-db]) or a list of them; never a shell string.
type Commands [][]string

// Health says how a started release proves it serves.
type Health struct {
	URL string `yaml:"url"`
	// Status is the HTTP status that counts as healthy.
	Status int `yaml:"status"`
	// VersionField names a top-level JSON field of the response that must
	// equal the deployed commit SHA, so an old process still holding the
	// port cannot pass for the new one.
	VersionField string        `yaml:"version_field"`
	Deadline     time.Duration `yaml:"deadline"`
	Interval     time.Duration `yaml:"interval"`
	// Watch keeps probing a healthy release this long after it went live;
	// WatchFailures failed probes in a row roll it back (0: no watch).
	Watch         time.Duration `yaml:"watch"`
	WatchFailures int           `yaml:"watch_failures"`
}

// Environment is one place the app is deployed to.
type Environment struct {
	// Branch selects this environment when ferry deploy gets no argument.
	Branch string `yaml:"branch"`
	// Target is how the servers are reached: local or ssm.
	Target string `yaml:"target"`
	// Root is the deployment root on the server (for local, a directory
	// of this machine, relative to ferry.yml).
	Root string `yaml:"root"`
	// Env overrides the app-level variables for this environment.
	Env map[string]string `yaml:"env"`
	// RunAs is process (started detached, tracked by PID file) or service
	// (a Windows service or systemd unit that restarts the app).
	RunAs string `yaml:"run_as"`
	SSM   *SSM   `yaml:"ssm"`
	// Windows, Freezes, ChangeCalendars and Policy say when a deploy may
	// start (package policy; docs/policy.md).
	Windows         policy.Windows  `yaml:"windows"`
	Freezes         []policy.Freeze `yaml:"freezes"`
	ChangeCalendars []string        `yaml:"change_calendars"`
	Policy          policy.Settings `yaml:"policy"`
}

// SSM configures the ssm target.
type SSM struct {
	Region      string            `yaml:"region"`
	Profile     string            `yaml:"profile"`
	InstanceIDs []string          `yaml:"instance_ids"`
	Tags        map[string]string `yaml:"tags"`
	Bucket      string            `yaml:"bucket"`
	Prefix      string            `yaml:"prefix"`
	// OutputPrefix is where the commands' output goes in the bucket
	// (default ssm-logs/<environment>, the SOP's layout).
	OutputPrefix string `yaml:"output_prefix"`
	// ExecutionTimeout bounds one run of the agent on a server.
	ExecutionTimeout time.Duration `yaml:"execution_timeout"`
	Rollout          Rollout       `yaml:"rollout"`
	// FleetRollback rolls back the servers that succeeded when others
	// failed, so a fleet never stays mixed.
	FleetRollback *bool  `yaml:"fleet_rollback"`
	Document      string `yaml:"document"`
	// Source is how the servers get the code: archive (from S3) or git.
	Source string `yaml:"source"`
	// Repository is the git URL the servers fetch from with source: git.
	Repository string `yaml:"repository"`
}

// Rollout is SSM's own rate control for a fleet.
type Rollout struct {
	MaxConcurrency string `yaml:"max_concurrency"`
	MaxErrors      string `yaml:"max_errors"`
}

// Runtimes an app runs on (see Config.Runtime).
const (
	RuntimePython = "python"
	RuntimeNode   = "node"
	RuntimeNone   = "none"
)

// Targets ferry knows.
const (
	TargetLocal = "local"
	TargetSSM   = "ssm"
)

// Load reads and validates the file at path.
func Load(path string) (*Config, error) { return LoadIn("", path) }

// LoadIn reads and validates the file at path, which is relative to dir
// when it is relative (to the process's directory when dir is empty).
// Problems name the file as the user wrote it. The CLI is given its
// working directory rather than using the process's, so that commands
// run side by side (tests, ferry demo) without changing directory.
func LoadIn(dir, path string) (*Config, error) {
	full := path
	if dir != "" && !filepath.IsAbs(path) {
		full = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, problems{{File: path, Message: "no such file", Hint: "run ferry in the directory that holds ferry.yml, or pass --config PATH"}}.err()
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes and validates data as the file named name. Every problem
// is reported, in file order, in one pass: a value of the wrong type does
// not hide the checks of the values after it (only checks of that value
// itself are left out, since its Go value is then a default).
func Parse(name string, data []byte) (*Config, error) {
	name = displayName(name)
	empty := problems{{File: name, Line: 1, Col: 1, Message: "the file is empty", Hint: "see docs/config.md for a complete example"}}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, empty.err()
		}
		return nil, problems{yamlSyntax(name, data, err)}.err()
	}
	if len(root.Content) == 0 {
		return nil, empty.err()
	}
	c := &Config{File: name}
	d := &decoder{file: name, paths: map[string]*yaml.Node{}, bad: map[string]bool{}, aliases: map[*yaml.Node]*yaml.Node{}}
	d.decode(root.Content[0], reflect.ValueOf(c).Elem(), "")
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		at := &second
		if len(second.Content) > 0 {
			at = second.Content[0]
		}
		d.fail(at, "ferry.yml is one document: remove the --- line and what follows it, or merge the two", "a second YAML document starts here")
	case !errors.Is(err, io.EOF):
		p := yamlSyntax(name, data, err)
		p.Message = "a second YAML document starts after the first, and " + p.Message
		d.problems = append(d.problems, p)
	}
	c.nodes, c.bad = d.paths, d.bad
	c.applyDefaults()
	errs := append(d.problems.errs(), c.validate()...)
	if len(errs) > 0 {
		sortByPosition(errs)
		return nil, joinProblems(errs)
	}
	return c, nil
}

func displayName(name string) string {
	if rel, err := filepath.Rel(".", name); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return name
}

var (
	yamlLine      = text.Pattern(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = text.Pattern(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlSyntax locates a parse error: yaml.v3 names the line of most, and
// none for an alias of an anchor that does not exist, which is found in
// the text instead.
func yamlSyntax(name string, data []byte, err error) problem {
	p := problem{File: name, Message: err.Error(), Hint: "check the indentation and quoting around that line"}
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &p.Line)
		p.Col = 1
		p.Message = m[2]
	} else if m := unknownAnchor().FindStringSubmatch(err.Error()); m != nil {
		p.Line, p.Col = findAlias(data, m[1])
		p.Message = fmt.Sprintf("unknown anchor %q: the alias *%s names no anchor defined before it", m[1], m[1])
		p.Hint = "define the anchor (&" + m[1] + ") on a value above this line, or fix the alias's name"
	}
	return p
}

// findAlias finds where *name is written as an alias: outside quotes and
// comments, after a space, '[', '{', ',' or the start of a line, and
// followed by the end of the name. 0, 0 when it cannot be found.
func findAlias(data []byte, name string) (int, int) {
	for i, line := range strings.Split(string(data), "\n") {
		quote := byte(0)
		for j := 0; j < len(line); j++ {
			ch := line[j]
			switch {
			case quote != 0:
				if ch == quote {
					quote = 0
				}
				continue
			case ch == '\'' || ch == '"':
				quote = ch
				continue
			case ch == '#' && (j == 0 || line[j-1] == ' ' || line[j-1] == '\t'):
				j = len(line)
				continue
			case ch != '*':
				continue
			}
			if j > 0 && !strings.ContainsRune(" \t[{,:-", rune(line[j-1])) {
				continue
			}
			rest := line[j+1:]
			if strings.HasPrefix(rest, name) && (len(rest) == len(name) || strings.ContainsRune(" \t,]}", rune(rest[len(name)]))) {
				return i + 1, j + 1
			}
		}
	}
	return 0, 0
}

func (c *Config) applyDefaults() {
	if c.Dir == "" {
		c.Dir = "."
	}
	if c.Start == "" {
		c.Start = "python app.py"
	}
	if c.Requirements == "" {
		c.Requirements = "requirements.txt"
	}
	if c.Python == "" {
		c.Python = "python3"
	}
	if c.Runtime == "" {
		c.Runtime = RuntimePython
		if c.Python == "none" {
			c.Runtime = RuntimeNone
		}
	}
	if c.Runtime != RuntimePython {
		// The Python tools' gates have nothing to check in another
		// runtime's app: off unless ferry.yml turns them on.
		off := false
		g := &c.Gates
		for _, e := range []**bool{&g.Tests.Enabled, &g.Audit.Enabled, &g.Safety.Enabled, &g.Bandit.Enabled, &g.Flake8.Enabled, &g.Pylint.Enabled, &g.Smoke.Enabled, &g.Deps.Enabled} {
			if *e == nil {
				*e = &off
			}
		}
	}
	if c.Health.URL == "" {
		c.Health.URL = "http://127.0.0.1:8000/health"
	}
	if c.Health.Status == 0 && !c.HasKey("health.status") {
		c.Health.Status = 200
	}
	if c.Health.Deadline == 0 {
		c.Health.Deadline = 60 * time.Second
	}
	if c.Health.Interval == 0 {
		c.Health.Interval = time.Second
	}
	if c.Health.Watch > 0 && c.Health.WatchFailures == 0 && !c.HasKey("health.watch_failures") {
		c.Health.WatchFailures = DefaultWatchFailures
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 10 * time.Second
	}
	if c.KeepReleases == 0 && !c.HasKey("keep_releases") {
		c.KeepReleases = 5
	}
	if c.KeepFailed == 0 && !c.HasKey("keep_failed") {
		c.KeepFailed = 3
	}
	for name, e := range c.Environments {
		if e == nil {
			e = &Environment{}
			c.Environments[name] = e
		}
		if e.Target == "" {
			e.Target = TargetLocal
		}
		if e.RunAs == "" {
			e.RunAs = "process"
		}
		if e.Root == "" && e.Target == TargetLocal {
			e.Root = filepath.Join(".ferry", name)
		}
		if e.SSM != nil {
			s := e.SSM
			if s.ExecutionTimeout == 0 {
				s.ExecutionTimeout = time.Hour
			}
			if s.Rollout.MaxConcurrency == "" {
				s.Rollout.MaxConcurrency = "1"
			}
			if s.Rollout.MaxErrors == "" {
				s.Rollout.MaxErrors = "0"
			}
			if s.FleetRollback == nil {
				t := true
				s.FleetRollback = &t
			}
			if s.Source == "" {
				s.Source = "archive"
			}
			if s.Prefix == "" {
				s.Prefix = "ferry"
			}
			if s.OutputPrefix == "" {
				s.OutputPrefix = "ssm-logs/" + name
			}
		}
	}
}

// at returns the problem position for a dotted key path: the value's
// node, or the key's when asked with "#key", or the top of the file.
func (c *Config) at(path, hint, format string, args ...any) problem {
	p := problem{File: c.File, Message: fmt.Sprintf(format, args...), Hint: hint, Line: 1, Col: 1}
	if n := c.nodes[path]; n != nil {
		p.Line, p.Col = n.Line, n.Column
	} else if n := c.nodes[path+"#key"]; n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	return p
}

// isBad says whether path, or a value that holds it, was of the wrong
// type: its Go value is then a default, and checking it would report
// what the file does not say.
func (c *Config) isBad(path string) bool {
	path = strings.TrimSuffix(path, "#key")
	for {
		if c.bad[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return c.bad[""]
		}
		path = path[:i]
	}
}

// checker collects validation problems, leaving out those about values
// that could not be decoded.
type checker struct {
	c    *Config
	errs []error
}

// add reports a problem at path unless one of paths (path itself when
// none are given) was of the wrong type.
func (k *checker) add(path, hint, format string, args ...any) {
	k.addFor([]string{path}, path, hint, format, args...)
}

// addFor is add for a check that reads the values at paths.
func (k *checker) addFor(paths []string, at, hint, format string, args ...any) {
	for _, p := range paths {
		if k.c.isBad(p) {
			return
		}
	}
	k.errs = append(k.errs, k.c.at(at, hint, format, args...).err())
}

var (
	appName  = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	envName  = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	varName  = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	instance = text.Pattern(`^(i-([0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})$`)
)

// devRequirements matches the names people give development-only
// requirements files (requirements-dev.txt, dev-requirements.txt,
// requirements/test.txt), which never belong on a server.
var devRequirements = regexp.MustCompile(`(?i)^((requirements[-_.])?(dev|devel|develop|development|test|tests|testing|lint)([-_.]requirements)?\.(txt|in)|requirements[-_](dev|test|tests|lint)[-_.].*)$`)

// healthVar is a ${NAME} placeholder in health.url.
var healthVar = text.Pattern(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

func (c *Config) validate() []error {
	k := &checker{c: c}
	if c.App == "" {
		k.add("app", "add a line such as `app: billing` at the top", "app is required")
	} else if !appName().MatchString(c.App) {
		k.add("app", "use letters, digits, '.', '_' and '-' (at most 63)", "app %q is not a valid name", c.App)
	}
	if c.Dir != "." {
		if err := relInside(c.Dir); err != nil {
			k.add("dir", "give a path inside the repository, such as services/api", "dir %v", err)
		}
	}
	if err := relInside(c.Requirements); err != nil {
		k.add("requirements", "give a path relative to dir", "requirements %v", err)
	} else if devRequirements.MatchString(filepath.Base(c.Requirements)) {
		k.add("requirements", "name the app's runtime requirements (requirements.txt); development tools stay on the machines that test, the gates run there", "requirements %q is a development requirements file: the servers install only what the app needs to run", c.Requirements)
	}
	c.validateStart(k)
	switch c.Runtime {
	case RuntimePython, RuntimeNode, RuntimeNone:
		if c.Python == "none" && c.Runtime != RuntimeNone {
			k.add("python", "remove python: none, or set runtime: none", "python: none contradicts runtime: %s", c.Runtime)
		}
	default:
		k.add("runtime", "python (a venv, the default), node (npm ci into node_modules) or none (a program run as given)", "runtime %q is not python, node or none", c.Runtime)
	}
	if err := plain(c.Python, maxPath); err != nil || c.Python == "" || strings.HasPrefix(c.Python, "-") {
		k.add("python", `name the interpreter on the servers, e.g. python3 or C:\Python311\python.exe`, "python %q is not an interpreter name or path", c.Python)
	}
	if c.EnvFile != "" {
		if err := relInside(c.EnvFile); err != nil {
			k.add("env_file", "name a file inside the server's shared/ directory, such as .env", "env_file %v", err)
		}
	}
	if len(c.Shared) > maxShared {
		k.add("shared", "share fewer paths (a directory can hold many)", "shared lists %d paths; the agent takes at most %d", len(c.Shared), maxShared)
	}
	for i, s := range c.Shared {
		if err := relInside(s); err != nil {
			k.add(fmt.Sprintf("shared[%d]", i), "name a path inside the release, such as data or uploads", "shared path %v", err)
		}
	}
	c.validateVars(k, "env", c.Env)
	c.validateHooks(k)
	// ${NAME} takes a variable of the app (env file, then env:) on each server.
	if err := checkURL(healthVar().ReplaceAllString(c.Health.URL, "1"), "http", "https"); err != nil {
		k.add("health.url", "for example http://127.0.0.1:8000/health", "health.url %v", err)
	}
	if c.Health.Status < 100 || c.Health.Status > 599 {
		k.add("health.status", "an HTTP status code such as 200", "health.status %d is not an HTTP status", c.Health.Status)
	}
	if c.Health.VersionField != "" && !varName().MatchString(c.Health.VersionField) {
		k.add("health.version_field", "name a top-level JSON field such as version", "health.version_field %q is not a field name", c.Health.VersionField)
	}
	if c.Health.Deadline > time.Hour {
		k.add("health.deadline", "at most 1h: the agent gives up on a release that takes longer", "health.deadline %s is longer than 1h", c.Health.Deadline)
	}
	if c.Health.Interval > c.Health.Deadline {
		k.addFor([]string{"health.interval", "health.deadline"}, "health.interval", "make the interval shorter than the deadline", "health.interval %s is longer than health.deadline %s", c.Health.Interval, c.Health.Deadline)
	}
	if c.StopTimeout > time.Hour {
		k.add("stop_timeout", "at most 1h", "stop_timeout %s is longer than 1h", c.StopTimeout)
	}
	if c.KeepReleases < 1 || c.KeepReleases > 100 {
		k.add("keep_releases", "keep between 1 and 100 releases", "keep_releases must be between 1 and 100, not %d", c.KeepReleases)
	}
	if c.KeepFailed < 1 || c.KeepFailed > 100 {
		k.add("keep_failed", "keep between 1 and 100 failed releases", "keep_failed must be between 1 and 100, not %d", c.KeepFailed)
	}
	for i, s := range c.Pip.FindLinks {
		if err := plain(s, maxPath); err != nil || s == "" || strings.HasPrefix(s, "-") {
			at := fmt.Sprintf("pip.find_links[%d]", i)
			if s == "" {
				k.add(at, "remove the empty entry", "pip.find_links has an empty entry")
			} else {
				k.add(at, "a directory (relative entries are inside the release) or a URL", "pip.find_links entry %q is not a path or URL", RedactURL(s))
			}
		}
	}
	if c.Pip.IndexURL != "" {
		if err := checkURL(c.Pip.IndexURL, "http", "https"); err != nil {
			k.add("pip.index_url", "for example https://pypi.org/simple", "pip.index_url %v", err)
		}
	}
	// The gates check their own fields; ferry.yml knows where each was written.
	if !c.isBad("gates") {
		if err := c.Gates.Validate(func(field string) string {
			p := c.at("gates."+field, "", "gates.%s", field)
			return fmt.Sprintf("%s:%d:%d: gates.%s", p.File, p.Line, p.Col, field)
		}); err != nil {
			k.errs = append(k.errs, fail.Problems(err)...)
		}
	}
	if len(c.Environments) == 0 {
		k.add("environments", "add at least one, e.g.\n  environments:\n    local:\n      target: local", "no environments are defined")
	}
	c.validatePolicy(k)
	branches := map[string]string{}
	for _, name := range c.EnvironmentNames() {
		e := c.Environments[name]
		p := "environments." + name
		if !envName().MatchString(name) {
			k.add(p+"#key", "use letters, digits, '_' and '-'", "environment name %q is not valid", name)
		}
		if e.Branch != "" {
			if other, dup := branches[e.Branch]; dup {
				k.add(p+".branch", "each branch may select one environment", "branch %q already selects environment %q", e.Branch, other)
			}
			branches[e.Branch] = name
		}
		c.validateVars(k, p+".env", e.Env)
		if n := len(c.AppEnv(name)); n > maxVars && !c.isBad("env") && !c.isBad(p+".env") {
			k.add(p, "move variables to the env_file on the servers", "environment %s gives the app %d variables; the agent takes at most %d", name, n, maxVars)
		}
		if e.RunAs != "process" && e.RunAs != "service" {
			k.add(p+".run_as", "process (detached, tracked by PID file) or service (Windows service / systemd unit)", "run_as %q is not process or service", e.RunAs)
		}
		switch e.Target {
		case TargetLocal:
			if e.SSM != nil {
				k.add(p+".ssm", "remove ssm: or set target: ssm", "ssm settings on a local target")
			}
			for _, part := range splitPath(e.Root) {
				if err := portablePart(part); err != nil && part != ".." {
					k.add(p+".root", "choose another directory name", "root %q: %v", e.Root, err)
					break
				}
			}
		case TargetSSM:
			c.validateSSM(k, p, e)
		default:
			k.add(p+".target", "target is local or ssm", "unknown target %q", e.Target)
		}
	}
	return k.errs
}

// validateStart mirrors what the agent asks of the start command.
func (c *Config) validateStart(k *checker) {
	const hint = `write the command as you would in a shell, e.g. "python -m waitress --port 8000 app:app"`
	words, err := SplitCommand(c.Start)
	switch {
	case err != nil:
		k.add("start", hint, "start: %v", err)
	case len(words) > maxStart:
		k.add("start", "start a script that runs the rest", "start has %d words; the agent takes at most %d", len(words), maxStart)
	case strings.HasPrefix(words[0], "-"):
		k.add("start", hint, "start: the program %q must not start with '-'", words[0])
	default:
		for _, w := range words {
			if err := plain(w, maxValue); err != nil {
				k.add("start", hint, "start: a word %v", err)
				break
			}
		}
	}
}

// validateHooks mirrors what the agent asks of each hook command.
func (c *Config) validateHooks(k *checker) {
	const hint = "a hook is an argument vector: [python, -m, flask, --app, flaskr, init-db]"
	for name, cmds := range map[string]Commands{"before_switch": c.Hooks.BeforeSwitch, "after_healthy": c.Hooks.AfterHealthy, "on_failure": c.Hooks.OnFailure} {
		path := "hooks." + name
		if len(cmds) > maxHooks {
			k.add(path, "run a script that runs the rest", "%s has %d commands; the agent takes at most %d", path, len(cmds), maxHooks)
		}
		for i, argv := range cmds {
			at := fmt.Sprintf("%s[%d]", path, i)
			if c.nodes[at] == nil {
				at = path // written as one vector
			}
			switch {
			case len(argv) == 0:
				k.add(at, hint, "%s: a command is empty", path)
			case len(argv) > maxStart:
				k.add(at, "run a script that runs the rest", "%s: a command has %d words; the agent takes at most %d", path, len(argv), maxStart)
			case argv[0] == "" || strings.HasPrefix(argv[0], "-"):
				k.add(at, hint, "%s: the program %q must not be empty or start with '-'", path, argv[0])
			default:
				for _, w := range argv {
					if err := plain(w, maxValue); err != nil {
						k.add(at, hint, "%s: a word %v", path, err)
						break
					}
				}
			}
		}
	}
	if c.Hooks.Timeout > 24*time.Hour {
		k.add("hooks.timeout", "at most 24h", "hooks.timeout %s is longer than 24h", c.Hooks.Timeout)
	}
}

// validateVars checks the names and values of an env: section as the
// agent will. A value is never repeated in a message: it may be a secret.
func (c *Config) validateVars(k *checker, path string, vars map[string]string) {
	for _, name := range sortedKeys(vars) {
		if !varName().MatchString(name) {
			k.add(path+"."+name+"#key", "variable names are letters, digits and underscores, not starting with a digit (at most 128)", "env: %q is not a valid variable name", name)
		}
		if err := plain(vars[name], maxValue); err != nil {
			k.add(path+"."+name, "put long or multi-line values in the env_file on the servers", "env %s: the value %v", name, err)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *Config) validateSSM(k *checker, p string, e *Environment) {
	if e.Root == "" {
		k.add(p+".root", `the app's directory on the servers, e.g. C:\Apps\billing or /srv/billing`, "root is required for an ssm target")
	} else if err := checkRoot(e.Root); err != nil {
		k.add(p+".root", `a local absolute path on the servers, e.g. C:\Apps\billing, /srv/billing or ~/billing`, "root %v", err)
	}
	s := e.SSM
	if s == nil {
		k.add(p, "add ssm: with region, bucket and instance_ids or tags", "target ssm needs an ssm: section")
		return
	}
	sp := p + ".ssm"
	switch {
	case s.Region == "":
		k.add(sp, "add region: us-east-1 (or your region)", "ssm.region is required")
	case !regionRe().MatchString(s.Region):
		k.add(sp+".region", "a Region code such as eu-west-1 or us-east-2 (aws ec2 describe-regions lists them)", "ssm.region %q is not a Region code", s.Region)
	}
	if s.Bucket == "" {
		k.add(sp, "name the S3 bucket that carries artifacts and command output", "ssm.bucket is required")
	} else if err := checkBucket(s.Bucket); err != nil {
		k.add(sp+".bucket", "S3's rules for bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html", "ssm.bucket %q %v", s.Bucket, err)
	}
	if !keyPrefixOK(s.Prefix) {
		k.add(sp+".prefix", "letters, digits, '.', '_', '-' and '/' between segments, such as ferry or deploy/billing (at most 400)", "ssm.prefix %q is not a key prefix", s.Prefix)
	}
	switch {
	case len(s.InstanceIDs) == 0 && len(s.Tags) == 0:
		k.add(sp, "list instance_ids, or select servers with tags", "ssm needs instance_ids or tags")
	case len(s.InstanceIDs) > 0 && len(s.Tags) > 0:
		k.add(sp+".tags", "use one way of choosing servers", "ssm: give instance_ids or tags, not both")
	}
	seen := map[string]int{}
	for i, id := range s.InstanceIDs {
		at := fmt.Sprintf("%s.instance_ids[%d]", sp, i)
		if !instance().MatchString(id) {
			k.add(at, "instance IDs look like i-0123456789abcdef0 (managed nodes: mi- and 17 hex digits)", "%q is not an instance ID", id)
		}
		if first, dup := seen[id]; dup {
			k.add(at, "remove one of them", "instance %s is listed twice (first as instance_ids[%d])", id, first)
		} else {
			seen[id] = i
		}
	}
	for _, key := range sortedKeys(s.Tags) {
		switch v := s.Tags[key]; {
		case !tagKeyRe().MatchString(key):
			k.add(sp+".tags."+key+"#key", "tag keys are 1 to 128 letters, digits, spaces and _ . : / = + - @", "tag key %q is not valid", key)
		case v == "" || len(v) > 256:
			k.add(sp+".tags."+key, "tag values have 1 to 256 characters", "tag %s: the value must have 1 to 256 characters", key)
		}
	}
	if !maxConcurrencyRe().MatchString(s.Rollout.MaxConcurrency) || len(s.Rollout.MaxConcurrency) > 7 {
		k.add(sp+".rollout.max_concurrency", `a number of servers from 1 ("2") or a percentage from 1% to 100% ("25%"), at most 7 characters`, "max_concurrency %q is not valid", s.Rollout.MaxConcurrency)
	}
	if !maxErrorsRe().MatchString(s.Rollout.MaxErrors) || len(s.Rollout.MaxErrors) > 7 {
		k.add(sp+".rollout.max_errors", `a number of servers from 0 ("0") or a percentage from 0% to 100% ("10%"), at most 7 characters`, "max_errors %q is not valid", s.Rollout.MaxErrors)
	}
	if s.Document != "" && !documentRe().MatchString(s.Document) {
		k.add(sp+".document", "a document name or ARN: 3 to 128 letters, digits and _ - . : /", "ssm.document %q is not a document name", s.Document)
	}
	switch s.Source {
	case "archive":
	case "git":
		if s.Repository == "" {
			k.add(sp+".source", "set ssm.repository to the URL the servers fetch from", "ssm.source git needs ssm.repository")
		}
	default:
		k.add(sp+".source", "archive (ferry ships the commit through S3) or git (servers fetch it)", "ssm.source %q is not archive or git", s.Source)
	}
	if s.Repository != "" {
		if hint, err := checkRepository(s.Repository); err != nil {
			k.add(sp+".repository", hint, "ssm.repository %v", err)
		}
	}
	if s.ExecutionTimeout < time.Minute || s.ExecutionTimeout > 48*time.Hour {
		k.add(sp+".execution_timeout", "between 1m and 48h", "ssm.execution_timeout %s is out of range", s.ExecutionTimeout)
	}
}

// EnvironmentNames returns the environment names sorted.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EnvironmentForBranch returns the environment whose branch is branch.
func (c *Config) EnvironmentForBranch(branch string) (string, bool) {
	for _, n := range c.EnvironmentNames() {
		if c.Environments[n].Branch == branch {
			return n, true
		}
	}
	return "", false
}

// AppEnv returns the app's variables with environment name's overrides.
func (c *Config) AppEnv(name string) map[string]string {
	out := map[string]string{}
	for k, v := range c.Env {
		out[k] = v
	}
	if e := c.Environments[name]; e != nil {
		for k, v := range e.Env {
			out[k] = v
		}
	}
	return out
}

// SplitCommand splits a command line into the argument vector ferry
// runs without a shell (startcmd.Words): words and quotes, variables
// ($PORT, ${PORT:-8000}) left for the agent to fill in from the app's
// environment, and operators, globs and substitutions refused rather than
// ignored.
func SplitCommand(s string) ([]string, error) { return startcmd.Words(s) }

// HasKey reports whether the file set the dotted key path itself, as
// opposed to leaving it to a default.
func (c *Config) HasKey(path string) bool {
	_, ok := c.nodes[path+"#key"]
	return ok
}
