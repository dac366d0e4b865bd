package workflows

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// Platform is what the app's servers run; it picks the runner of the
// gates, because the tests should run on the operating system the app
// runs on.
type Platform string

// The platforms ferry deploys to.
const (
	PlatformWindows Platform = "windows"
	PlatformLinux   Platform = "linux"
)

// Paths of what Render writes, relative to the repository root.
const (
	CheckPath    = ".github/workflows/ferry-check.yml"
	CICDPath     = ".github/workflows/ferry-cicd.yml"
	DeployPath   = ".github/workflows/ferry-deploy.yml"
	RollbackPath = ".github/workflows/ferry-rollback.yml"
	// DefaultGateRequirements is where the gate tools' pins go.
	DefaultGateRequirements = ".github/ferry-gates-requirements.txt"
)

// Variables the deploy and rollback jobs read from the GitHub
// environment they run in (environment variables, not secrets: neither
// is secret, and the role ARN differs per environment). `ferry iam`
// prints the role; internal/github sets them (SetVariable).
const (
	VarRoleARN = "FERRY_AWS_ROLE_ARN"
	VarRegion  = "FERRY_AWS_REGION"
)

// Actions are the third-party actions the workflows use, each as
// owner/repo[/path]@ref. They are pinned to a major tag (see
// docs/pipeline.md for why not SHAs); an organisation that requires SHA
// pins sets its own here, and ferry keeps writing them.
type Actions struct {
	Checkout       string
	SetupPython    string
	AWSCredential  string
	UploadSARIF    string
	UploadArtifact string
}

// DefaultActions are the current major tags, checked against each
// action's releases when this version of ferry was made; actionlint
// v1.7.12 knows the inputs of all but upload-sarif.
var DefaultActions = Actions{
	Checkout:       "actions/checkout@v6",
	SetupPython:    "actions/setup-python@v6",
	AWSCredential:  "aws-actions/configure-aws-credentials@v6",
	UploadSARIF:    "github/codeql-action/upload-sarif@v4",
	UploadArtifact: "actions/upload-artifact@v7",
}

// DefaultFerryAction is the action that installs ferry (action.yml).
const DefaultFerryAction = "ferryhq/ferry@v1"

// DefaultGatePins are exact versions of the gate tools `ferry check`
// drives (pytest + pytest-cov, pip-audit, safety, bandit, flake8,
// pylint). Exact pins make a gate's verdict depend on the commit, not on
// the day the job ran.
var DefaultGatePins = map[string]string{
	"pytest":     "9.2.0",
	"pytest-cov": "7.1.0",
	"pip-audit":  "2.10.1",
	"safety":     "3.8.1",
	"bandit":     "1.9.4",
	"flake8":     "7.5.0",
	"pylint":     "4.1.4",
}

// Environment is one deploy target of the pipeline.
type Environment struct {
	// Name is the ferry.yml environment and the GitHub environment.
	Name string
	// Branch is the branch whose pushes deploy here ("" = none: only
	// the rollback workflow offers it).
	Branch string
	// URL is shown on the run and the deployment (optional).
	URL string
	// Production marks the environment GitHub protects with reviewers.
	Production bool
}

// Model is everything the four workflows are rendered from.
type Model struct {
	// App is ferry.yml's app (names the workflows' runs).
	App string
	// Platform of the servers: windows (default) or linux.
	Platform Platform
	// Environments in the order they are offered (rollback's choice).
	Environments []Environment
	// FerryAction installs ferry; default DefaultFerryAction.
	FerryAction string
	// FerryVersion is the action's version input ("" = the action's own
	// tag, see docs/install.md).
	FerryVersion string
	// FerryDownloadURL is the action's download-url (a mirror or GitHub
	// Enterprise; "" = github.com's releases).
	FerryDownloadURL string
	// Config is ferry.yml's path in the repository; default ferry.yml.
	Config string
	// AppRequirements is the app's dependency file to install before
	// the gates (e.g. requirements.txt; "" = none). A pyproject.toml
	// project is installed with `pip install DIR` instead: give its
	// directory with a trailing slash, e.g. "./".
	AppRequirements string
	// GateRequirements is where the gate tools' pins are written;
	// default DefaultGateRequirements.
	GateRequirements string
	// GatePins are tool → exact version; nil means DefaultGatePins.
	GatePins map[string]string
	// PythonVersion for actions/setup-python; default "3.12".
	PythonVersion string
	// Secrets are the names of secrets the app's gates and deploy need
	// (e.g. DATABASE_URL): passed by name from the caller to the
	// reusable workflows, never with `secrets: inherit`.
	Secrets []string
	// Actions override DefaultActions field by field.
	Actions Actions
	// Runner runs the gates; default windows-latest or ubuntu-latest by
	// Platform; the deploy runs there too, since ferry deploy runs the
	// gates. DeployRunner runs the rollback (it only calls
	// AWS); default ubuntu-latest.
	Runner, DeployRunner string
}

var (
	nameRe    = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	branchRe  = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_./-]{0,199}$`)
	urlRe     = text.Pattern(`^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%/+=&?#-]*)?$`)
	secretRe  = text.Pattern(`^[A-Z_][A-Z0-9_]{0,99}$`)
	actionRe  = text.Pattern(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[A-Za-z0-9_./-]+$`)
	pathRe    = text.Pattern(`^[A-Za-z0-9_.][A-Za-z0-9_./-]*$`)
	versionRe = text.Pattern(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$|^latest$`)
	pyverRe   = text.Pattern(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)
	pinRe     = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	runnerRe  = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// normalized is m with defaults filled in, or every problem found.
// Values are checked against narrow character classes because they are
// pasted into YAML and into ${{ }} string literals: nothing a model holds
// can close a quote.
func (m Model) normalized() (Model, error) {
	var errs []error
	bad := func(hint, format string, args ...any) {
		errs = append(errs, fail.Errorf(exitcode.Usage, "workflows: "+format, args...).WithHints(hint))
	}
	if !nameRe().MatchString(m.App) {
		bad("use ferry.yml's app: letters, digits, '.', '_', '-'", "app %q is not an app name", m.App)
	}
	switch m.Platform {
	case "":
		m.Platform = PlatformWindows
	case PlatformWindows, PlatformLinux:
	default:
		bad("use windows or linux", "platform %q is not windows or linux", m.Platform)
	}
	if len(m.Environments) == 0 {
		bad("give at least one environment (e.g. development on dev, production on master)", "no environments")
	}
	names, branches := map[string]bool{}, map[string]string{}
	for _, e := range m.Environments {
		if !nameRe().MatchString(e.Name) {
			bad("use letters, digits, '.', '_', '-' as in ferry.yml", "environment name %q is not allowed", e.Name)
		}
		if names[e.Name] {
			bad("name each environment once", "environment %q is listed twice", e.Name)
		}
		names[e.Name] = true
		if e.Branch != "" {
			if !branchRe().MatchString(e.Branch) || strings.Contains(e.Branch, "..") {
				bad("use a plain branch name such as dev or master", "environment %s: branch %q is not allowed", e.Name, e.Branch)
			}
			if other, ok := branches[e.Branch]; ok {
				bad("a branch deploys to one environment, as in ferry.yml", "branch %s selects both %s and %s", e.Branch, other, e.Name)
			}
			branches[e.Branch] = e.Name
		}
		if e.URL != "" && !urlRe().MatchString(e.URL) {
			bad("give an http(s) URL without quotes or spaces", "environment %s: url %q is not allowed", e.Name, e.URL)
		}
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&m.FerryAction, DefaultFerryAction)
	def(&m.Config, "ferry.yml")
	def(&m.GateRequirements, DefaultGateRequirements)
	def(&m.PythonVersion, "3.12")
	def(&m.DeployRunner, "ubuntu-latest")
	if m.Platform == PlatformWindows {
		def(&m.Runner, "windows-latest")
	} else {
		def(&m.Runner, "ubuntu-latest")
	}
	def(&m.Actions.Checkout, DefaultActions.Checkout)
	def(&m.Actions.SetupPython, DefaultActions.SetupPython)
	def(&m.Actions.AWSCredential, DefaultActions.AWSCredential)
	def(&m.Actions.UploadSARIF, DefaultActions.UploadSARIF)
	def(&m.Actions.UploadArtifact, DefaultActions.UploadArtifact)
	for _, a := range []string{m.FerryAction, m.Actions.Checkout, m.Actions.SetupPython, m.Actions.AWSCredential, m.Actions.UploadSARIF, m.Actions.UploadArtifact} {
		if !actionRe().MatchString(a) {
			bad("write owner/repo@ref (a tag or a commit SHA)", "action %q is not owner/repo@ref", a)
		}
	}
	if m.FerryVersion != "" && !versionRe().MatchString(m.FerryVersion) {
		bad("use 1.2.3, v1.2.3 or latest", "ferry version %q is not a release version", m.FerryVersion)
	}
	if m.FerryDownloadURL != "" && !urlRe().MatchString(m.FerryDownloadURL) {
		bad("give the releases base URL, e.g. https://github.com/ferryhq/ferry/releases/download", "download url %q is not allowed", m.FerryDownloadURL)
	}
	for what, p := range map[string]string{"config": m.Config, "gate requirements": m.GateRequirements} {
		if !pathRe().MatchString(p) || strings.Contains(p, "..") {
			bad("give a path inside the repository, with slashes", "%s path %q is not allowed", what, p)
		}
	}
	if m.AppRequirements != "" && (!pathRe().MatchString(m.AppRequirements) || strings.Contains(m.AppRequirements, "..")) {
		bad("give a path inside the repository, with slashes", "app requirements path %q is not allowed", m.AppRequirements)
	}
	if !pyverRe().MatchString(m.PythonVersion) {
		bad("give a version such as 3.12", "python version %q is not allowed", m.PythonVersion)
	}
	for _, r := range []string{m.Runner, m.DeployRunner} {
		if !runnerRe().MatchString(r) {
			bad("give one runner label such as ubuntu-latest", "runner %q is not allowed", r)
		}
	}
	if m.GatePins == nil {
		m.GatePins = DefaultGatePins
	}
	for tool, v := range m.GatePins {
		if !pinRe().MatchString(tool) || !pinRe().MatchString(v) {
			bad("give a PyPI name and an exact version", "gate pin %q==%q is not allowed", tool, v)
		}
	}
	seen := map[string]bool{}
	var secrets []string
	for _, s := range m.Secrets {
		switch {
		case !secretRe().MatchString(s) || strings.HasPrefix(s, "GITHUB_"):
			bad("secret names are upper case letters, digits and _, not starting with GITHUB_", "secret name %q is not allowed", s)
		case strings.HasPrefix(s, "FERRY_") || strings.HasPrefix(s, "AWS_"):
			bad("the workflows set FERRY_* and AWS_* themselves", "secret name %q is reserved", s)
		case !seen[s]:
			seen[s] = true
			secrets = append(secrets, s)
		}
	}
	sort.Strings(secrets)
	m.Secrets = secrets
	if err := errors.Join(errs...); err != nil {
		return m, err
	}
	return m, nil
}

// GateRequirementsFile is the pinned requirements file of pins (one
// `name==version` line each, sorted), as Render writes it.
func GateRequirementsFile(pins map[string]string) []byte {
	if pins == nil {
		pins = DefaultGatePins
	}
	names := make([]string, 0, len(pins))
	for n := range pins {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# The quality gates' tools at exact versions, installed by ferry-check.yml and\n")
	b.WriteString("# ferry-deploy.yml. Written by ferry init, which reads the pins back: a pin\n")
	b.WriteString("# changed here survives the next ferry init.\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s==%s\n", n, pins[n])
	}
	return []byte(b.String())
}

// ParseGateRequirements reads the pins of a file GateRequirementsFile
// wrote (comments and blank lines skipped), so that `ferry init` keeps
// pins a person changed. Anything but name==version is refused.
func ParseGateRequirements(b []byte) (map[string]string, error) {
	pins := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, v, ok := strings.Cut(line, "==")
		name, v = strings.TrimSpace(name), strings.TrimSpace(v)
		if !ok || !pinRe().MatchString(name) || !pinRe().MatchString(v) {
			return nil, fail.Errorf(exitcode.Usage, "gate requirements line %d: %q is not name==version", i+1, line).
				WithHints("keep exact pins (pytest==9.2.0): the gates must not change with the day the job ran")
		}
		pins[strings.ToLower(name)] = v
	}
	return pins, nil
}
