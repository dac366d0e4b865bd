// Package config reads ferry.yml: the application, how it starts, how its
// health is judged, and the environments it is deployed to. Every problem
// is reported as ferry.yml:LINE:COL with a hint, all at once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
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
	// Requirements is the pip requirements file, relative to Dir.
	Requirements string `yaml:"requirements"`
	// Python is the interpreter that creates the virtualenv on the server.
	Python string `yaml:"python"`
	Pip    Pip    `yaml:"pip"`
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
	// StopTimeout is how long the old process gets to exit gracefully.
	StopTimeout time.Duration `yaml:"stop_timeout"`
	// KeepReleases is how many releases are kept besides current and previous.
	KeepReleases int `yaml:"keep_releases"`
	// KeepFailed caps the failed releases kept for diagnosis.
	KeepFailed int `yaml:"keep_failed"`
	// Gates are the quality gates run by ferry check and before each deploy.
	Gates        gates.Config            `yaml:"gates"`
	Environments map[string]*Environment `yaml:"environments"`

	// File is where the configuration was read from.
	File string `yaml:"-"`
	// nodes maps dotted key paths to where they were written.
	nodes map[string]*yaml.Node
}

// Pip holds the options given to pip install.
type Pip struct {
	IndexURL  string   `yaml:"index_url"`
	FindLinks []string `yaml:"find_links"`
	NoIndex   bool     `yaml:"no_index"`
}

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
}

// SSM configures the ssm target.
type SSM struct {
	Region      string            `yaml:"region"`
	Profile     string            `yaml:"profile"`
	InstanceIDs []string          `yaml:"instance_ids"`
	Tags        map[string]string `yaml:"tags"`
	Bucket      string            `yaml:"bucket"`
	Prefix      string            `yaml:"prefix"`
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

// Parse decodes and validates data as the file named name.
func Parse(name string, data []byte) (*Config, error) {
	name = displayName(name)
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, problems{{File: name, Line: 1, Col: 1, Message: "the file is empty", Hint: "see docs/config.md for a complete example"}}.err()
		}
		return nil, problems{yamlSyntax(name, err)}.err()
	}
	c := &Config{File: name}
	d := &decoder{file: name, paths: map[string]*yaml.Node{}}
	if len(root.Content) == 0 {
		return nil, problems{{File: name, Line: 1, Col: 1, Message: "the file is empty", Hint: "see docs/config.md for a complete example"}}.err()
	}
	d.decode(root.Content[0], reflect.ValueOf(c).Elem(), "")
	c.nodes = d.paths
	if len(d.problems) > 0 {
		return nil, d.problems.err()
	}
	c.applyDefaults()
	if errs := c.validate(); len(errs) > 0 {
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

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlSyntax(name string, err error) problem {
	p := problem{File: name, Message: err.Error(), Hint: "check the indentation and quoting around that line"}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &p.Line)
		p.Col = 1
		p.Message = m[2]
	}
	return p
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

var (
	appName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	envName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	varName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	instance = regexp.MustCompile(`^(i|mi)-([0-9a-f]{8}|[0-9a-f]{17})$`)
	rateSpec = regexp.MustCompile(`^([0-9]+%?)$`)
)

// healthVar is a ${NAME} placeholder in health.url.
var healthVar = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

func (c *Config) validate() []error {
	var ps []error
	add := func(p problem) { ps = append(ps, p.err()) }
	if c.App == "" {
		add(c.at("app", "add a line such as `app: billing` at the top", "app is required"))
	} else if !appName.MatchString(c.App) {
		add(c.at("app", "use letters, digits, '.', '_' and '-' (at most 63)", "app %q is not a valid name", c.App))
	}
	if err := relPath(c.Dir); err != nil {
		add(c.at("dir", "give a path inside the repository, such as services/api", "dir %v", err))
	}
	if err := relPath(c.Requirements); err != nil {
		add(c.at("requirements", "give a path relative to dir", "requirements %v", err))
	}
	if _, err := SplitCommand(c.Start); err != nil {
		add(c.at("start", `write the command as you would in a shell, e.g. "python -m waitress --port 8000 app:app"`, "start: %v", err))
	}
	if c.EnvFile != "" {
		if err := relPath(c.EnvFile); err != nil {
			add(c.at("env_file", "name a file inside the server's shared/ directory, such as .env", "env_file %v", err))
		}
	}
	for i, s := range c.Shared {
		if err := relPath(s); err != nil || filepath.Clean(s) == "." {
			add(c.at(fmt.Sprintf("shared[%d]", i), "name a path inside the release, such as data or uploads", "shared path %q must be a relative path inside the release", s))
		}
	}
	for k := range c.Env {
		if !varName.MatchString(k) {
			add(c.at("env."+k+"#key", "variable names are letters, digits and underscores, not starting with a digit", "env: %q is not a valid variable name", k))
		}
	}
	// ${NAME} takes a variable of the app (env file, then env:) on each server.
	u, err := url.Parse(healthVar.ReplaceAllString(c.Health.URL, "1"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(c.at("health.url", "for example http://127.0.0.1:8000/health", "health.url %q is not an http(s) URL", c.Health.URL))
	}
	if c.Health.Status < 100 || c.Health.Status > 599 {
		add(c.at("health.status", "an HTTP status code such as 200", "health.status %d is not an HTTP status", c.Health.Status))
	}
	if c.Health.VersionField != "" && !varName.MatchString(c.Health.VersionField) {
		add(c.at("health.version_field", "name a top-level JSON field such as version", "health.version_field %q is not a field name", c.Health.VersionField))
	}
	if c.Health.Interval > c.Health.Deadline {
		add(c.at("health.interval", "make the interval shorter than the deadline", "health.interval %s is longer than health.deadline %s", c.Health.Interval, c.Health.Deadline))
	}
	if c.KeepReleases < 1 || c.KeepReleases > 100 {
		add(c.at("keep_releases", "keep between 1 and 100 releases", "keep_releases must be between 1 and 100, not %d", c.KeepReleases))
	}
	if c.KeepFailed < 1 || c.KeepFailed > 100 {
		add(c.at("keep_failed", "keep between 1 and 100 failed releases", "keep_failed must be between 1 and 100, not %d", c.KeepFailed))
	}
	for _, s := range c.Pip.FindLinks {
		if s == "" {
			add(c.at("pip.find_links", "remove the empty entry", "pip.find_links has an empty entry"))
		}
	}
	if c.Pip.IndexURL != "" {
		if u, err := url.Parse(c.Pip.IndexURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			add(c.at("pip.index_url", "for example https://pypi.org/simple", "pip.index_url %q is not an http(s) URL", c.Pip.IndexURL))
		}
	}
	// The gates check their own fields; ferry.yml knows where each was written.
	if err := c.Gates.Validate(func(field string) string {
		p := c.at("gates."+field, "", "gates.%s", field)
		return fmt.Sprintf("%s:%d:%d: gates.%s", p.File, p.Line, p.Col, field)
	}); err != nil {
		ps = append(ps, fail.Problems(err)...)
	}
	if len(c.Environments) == 0 {
		add(c.at("environments", "add at least one, e.g.\n  environments:\n    local:\n      target: local", "no environments are defined"))
	}
	branches := map[string]string{}
	for _, name := range c.EnvironmentNames() {
		e := c.Environments[name]
		p := "environments." + name
		if !envName.MatchString(name) {
			add(c.at(p+"#key", "use letters, digits, '_' and '-'", "environment name %q is not valid", name))
		}
		if e.Branch != "" {
			if other, dup := branches[e.Branch]; dup {
				add(c.at(p+".branch", "each branch may select one environment", "branch %q already selects environment %q", e.Branch, other))
			}
			branches[e.Branch] = name
		}
		for k := range e.Env {
			if !varName.MatchString(k) {
				add(c.at(p+".env."+k+"#key", "variable names are letters, digits and underscores", "env: %q is not a valid variable name", k))
			}
		}
		if e.RunAs != "process" && e.RunAs != "service" {
			add(c.at(p+".run_as", "process (detached, tracked by PID file) or service (Windows service / systemd unit)", "run_as %q is not process or service", e.RunAs))
		}
		switch e.Target {
		case TargetLocal:
			if e.SSM != nil {
				add(c.at(p+".ssm", "remove ssm: or set target: ssm", "ssm settings on a local target"))
			}
		case TargetSSM:
			ps = append(ps, c.validateSSM(p, e)...)
		default:
			add(c.at(p+".target", "target is local or ssm", "unknown target %q", e.Target))
		}
	}
	return ps
}

func (c *Config) validateSSM(p string, e *Environment) []error {
	var ps []error
	add := func(x problem) { ps = append(ps, x.err()) }
	if e.Root == "" {
		add(c.at(p+".root", `the app's directory on the servers, e.g. C:\Apps\billing or /srv/billing`, "root is required for an ssm target"))
	}
	s := e.SSM
	if s == nil {
		add(c.at(p, "add ssm: with region, bucket and instance_ids or tags", "target ssm needs an ssm: section"))
		return ps
	}
	if s.Region == "" {
		add(c.at(p+".ssm", "add region: us-east-1 (or your region)", "ssm.region is required"))
	}
	if s.Bucket == "" {
		add(c.at(p+".ssm", "name the S3 bucket that carries artifacts and command output", "ssm.bucket is required"))
	}
	if len(s.InstanceIDs) == 0 && len(s.Tags) == 0 {
		add(c.at(p+".ssm", "list instance_ids, or select servers with tags", "ssm needs instance_ids or tags"))
	}
	if len(s.InstanceIDs) > 0 && len(s.Tags) > 0 {
		add(c.at(p+".ssm.tags", "use one way of choosing servers", "ssm: give instance_ids or tags, not both"))
	}
	for i, id := range s.InstanceIDs {
		if !instance.MatchString(id) {
			add(c.at(fmt.Sprintf("%s.ssm.instance_ids[%d]", p, i), "instance IDs look like i-0123456789abcdef0", "%q is not an instance ID", id))
		}
	}
	if !rateSpec.MatchString(s.Rollout.MaxConcurrency) || s.Rollout.MaxConcurrency == "0" || s.Rollout.MaxConcurrency == "0%" {
		add(c.at(p+".ssm.rollout.max_concurrency", `a number of servers ("2") or a percentage ("25%")`, "max_concurrency %q is not valid", s.Rollout.MaxConcurrency))
	}
	if !rateSpec.MatchString(s.Rollout.MaxErrors) {
		add(c.at(p+".ssm.rollout.max_errors", `a number of servers ("0") or a percentage ("10%")`, "max_errors %q is not valid", s.Rollout.MaxErrors))
	}
	if s.Source != "archive" && s.Source != "git" {
		add(c.at(p+".ssm.source", "archive (ferry ships the commit through S3) or git (servers fetch it)", "ssm.source %q is not archive or git", s.Source))
	}
	if s.Source == "git" && s.Repository == "" {
		add(c.at(p+".ssm.source", "set ssm.repository to the URL the servers fetch from", "ssm.source git needs ssm.repository"))
	}
	if s.ExecutionTimeout < time.Minute || s.ExecutionTimeout > 48*time.Hour {
		add(c.at(p+".ssm.execution_timeout", "between 1m and 48h", "ssm.execution_timeout %s is out of range", s.ExecutionTimeout))
	}
	return ps
}

func relPath(p string) error {
	if p == "" {
		return errors.New("is empty")
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("%q must be relative", p)
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return fmt.Errorf("%q must not leave its directory", p)
		}
	}
	return nil
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

// SplitCommand splits a command line into words the way a POSIX shell
// would for plain words and quotes, without running a shell: no
// variables, globs or operators, which are refused rather than ignored.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\`, s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case strings.IndexByte("|&;<>()$`\n*?", ch) >= 0:
			return nil, fmt.Errorf("%q is shell syntax; ferry runs the command without a shell", string(ch))
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("is empty")
	}
	return words, nil
}

// HasKey reports whether the file set the dotted key path itself, as
// opposed to leaving it to a default.
func (c *Config) HasKey(path string) bool {
	_, ok := c.nodes[path+"#key"]
	return ok
}
