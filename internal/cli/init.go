package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/detect"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/github"
	"github.com/ferryhq/ferry/internal/gitrepo"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/version"
	"github.com/ferryhq/ferry/internal/workflows"
)

// InitOptions are ferry init's.
type InitOptions struct {
	Common
	// The ssm target of a new ferry.yml (--region, --bucket, --tags,
	// --instance-ids, --root).
	Region, Bucket string
	Tags           map[string]string
	InstanceIDs    []string
	Root           string
	// Platform is the servers' (--platform windows|linux); empty: from
	// an existing ferry.yml's roots, else windows.
	Platform string
	// GitHub creates or updates the environments (--github); Repo is
	// OWNER/REPO (--repo, default from the origin remote); Reviewers
	// approve production deploys (--reviewers user,org/team); WaitTimer
	// is production's wait in minutes (--wait-timer).
	GitHub    bool
	Repo      string
	Reviewers []string
	WaitTimer int
	// DryRun writes nothing and prints the GitHub requests (--dry-run).
	DryRun bool
	// Force replaces files that differ (--force); Check only compares
	// (--check).
	Force, Check bool
	// FerryVersion and FerryDownloadURL are the ferry action's inputs
	// (--ferry-version, default this ferry's release version;
	// --ferry-download-url, a mirror).
	FerryVersion, FerryDownloadURL string
}

// initResult is ferry init's --json result.
type initResult struct {
	Repository string      `json:"repository"`
	Config     string      `json:"config"`
	ConfigNew  bool        `json:"config_new"`
	Files      []initFile  `json:"files"`
	Notes      []string    `json:"notes"`
	Written    bool        `json:"written"`
	GitHub     *initGitHub `json:"github,omitempty"`
}

type initFile struct {
	Path  string `json:"path"`
	State string `json:"state"`
}

type initGitHub struct {
	Repository   string   `json:"repository"`
	Environments []string `json:"environments"`
	DryRun       bool     `json:"dry_run"`
}

// NewCmdInit is ferry init; runF as for NewCmdDeploy.
func NewCmdInit(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{Common: common(f)}
	var tags, ids, reviewers string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Detect the app, write ferry.yml and the four GitHub workflows (and set up the environments)",
		Long: `Set up ferry in an app repository. ferry init reads the app (how it starts,
its dependencies, a health endpoint) and writes ferry.yml with two
environments, development (branch dev) and production (branch master),
on the ssm target the flags describe (Windows servers unless --platform
linux), and the pipeline under .github/workflows/: ferry-check.yml,
ferry-cicd.yml, ferry-deploy.yml and ferry-rollback.yml, each linted with
actionlint before it is written (docs/pipeline.md).

An existing ferry.yml is kept and the workflows are made from it. Run
again, ferry init prints what it would change as a diff and changes
nothing that differs without --force; --check only compares and fails
(exit 1) when the files drifted. --github creates or updates the GitHub
environments (production: reviewers, a wait timer, master only;
development: dev only) with the token in GITHUB_TOKEN or gh auth token;
--dry-run writes nothing and prints the requests instead.`,
		Example: `  ferry init --region eu-west-1 --bucket acme-deploy --tags Role=billing --root 'C:\Apps\Billing'
  ferry init --check
  ferry init --github --reviewers alice,acme/ops --dry-run`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(opts, &opts.Common, nil, runF, runInit),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Tags, err = parseTags(tags); err != nil {
				return err
			}
			opts.InstanceIDs = splitList(ids)
			opts.Reviewers = splitList(reviewers)
			if len(opts.Tags) > 0 && len(opts.InstanceIDs) > 0 {
				return fail.Usage(errors.New("--tags and --instance-ids both select the instances"), "give one of them")
			}
			switch opts.Platform {
			case "", "windows", "linux":
			default:
				return fail.Usage(fmt.Errorf("--platform %q is not windows or linux", opts.Platform), "give --platform windows or --platform linux")
			}
			if opts.Check && opts.Force {
				return fail.Usage(errors.New("--check compares and --force writes"), "give one of them")
			}
			if opts.WaitTimer < 0 || opts.WaitTimer > 43200 {
				return fail.Usage(fmt.Errorf("--wait-timer %d is out of range", opts.WaitTimer), "give 0 to 43200 minutes")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Region, "region", "", "AWS region of the servers (ssm.region)")
	fl.StringVar(&opts.Bucket, "bucket", "", "S3 bucket for artifacts and agents (ssm.bucket)")
	fl.StringVar(&tags, "tags", "", "instances by tag: K=V,K2=V2 (ssm.tags)")
	fl.StringVar(&ids, "instance-ids", "", "instances by ID: i-…,i-… (ssm.instance_ids)")
	fl.StringVar(&opts.Root, "root", "", `the deployment root on the servers (default C:\Apps\APP on Windows, /srv/APP on Linux)`)
	fl.StringVar(&opts.Platform, "platform", "", "the servers' platform: windows (default) or linux")
	fl.BoolVar(&opts.GitHub, "github", false, "create or update the GitHub environments (token: GITHUB_TOKEN or gh auth token)")
	fl.StringVar(&opts.Repo, "repo", "", "the GitHub repository OWNER/REPO (default: the origin remote)")
	fl.StringVar(&reviewers, "reviewers", "", "who approves production deploys: user,org/team")
	fl.IntVar(&opts.WaitTimer, "wait-timer", 0, "minutes production waits before a deploy starts")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "write nothing; print the diff and the GitHub requests")
	fl.BoolVar(&opts.Force, "force", false, "replace files that differ from what ferry writes")
	fl.BoolVar(&opts.Check, "check", false, "only compare: exit 1 when the files drifted from what this ferry writes")
	fl.StringVar(&opts.FerryVersion, "ferry-version", "", "the ferry the workflows install (default: this ferry's release version)")
	fl.StringVar(&opts.FerryDownloadURL, "ferry-download-url", "", "where the workflows download ferry from (a mirror or GitHub Enterprise); kept from the workflows when not given")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for _, p := range splitList(s) {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" {
			return nil, fail.Usage(fmt.Errorf("--tags %q is not KEY=VALUE", p), "give --tags Role=billing,Env=prod")
		}
		tags[k] = v
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// runInit writes (or compares) ferry.yml and the workflows.
func runInit(opts *InitOptions) error {
	repo, err := gitrepo.Open(opts.WorkDir)
	if err != nil {
		return fail.New(exitcode.Usage, fmt.Errorf("init: %w", err), "run ferry init in the app's git repository (git init first for a new one)")
	}
	top := repo.Dir
	cfgPath := opts.abs(opts.ConfigPath)
	rel, err := filepath.Rel(top, cfgPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fail.Usage(fmt.Errorf("init: %s is outside the repository %s", cfgPath, top), "give --config a path inside the repository")
	}
	rel = filepath.ToSlash(rel)
	res := initResult{Repository: top, Config: rel}

	var cfg *config.Config
	var files []workflows.File
	if _, err := os.Stat(cfgPath); err == nil {
		if cfg, err = opts.LoadConfig(opts.WorkDir, opts.ConfigPath); err != nil {
			return err
		}
		res.Notes = append(res.Notes, rel+" exists: the workflows are made from it (it is yours to edit; delete it to detect the app again)")
		if opts.Region != "" || opts.Bucket != "" || opts.Tags != nil || opts.InstanceIDs != nil || opts.Root != "" {
			res.Notes = append(res.Notes, "--region, --bucket, --tags, --instance-ids and --root only shape a new ferry.yml: edit "+rel+" instead")
		}
	} else {
		text, notes, err := newFerryYML(opts, filepath.Dir(cfgPath))
		if err != nil {
			return err
		}
		res.Notes = append(res.Notes, notes...)
		// What is written must load: check it as ferry would read it.
		tmp := filepath.Join(opts.tempDir(), "ferry.yml")
		if err := os.WriteFile(tmp, text, 0o644); err != nil {
			return err
		}
		defer os.Remove(tmp)
		if cfg, err = opts.LoadConfig(filepath.Dir(tmp), "ferry.yml"); err != nil {
			return fmt.Errorf("init: the ferry.yml these flags make is not valid: %w", err)
		}
		files = append(files, workflows.File{Path: rel, Data: text})
		res.ConfigNew = true
	}

	m, err := opts.model(cfg, top, rel)
	if err != nil {
		return err
	}
	wf, err := workflows.Render(m)
	if err != nil {
		return err
	}
	files = append(files, wf...)
	drift, err := workflows.Compare(top, files)
	if err != nil {
		return err
	}
	for _, c := range drift {
		res.Files = append(res.Files, initFile{Path: c.Path, State: string(c.State)})
	}
	opts.setResult(&res)
	diff := drift.Diff()
	if !opts.JSON && diff != "" && (opts.Check || opts.DryRun || !drift.Clean()) {
		fmt.Fprint(opts.Out, diff)
	}

	if opts.Check {
		if !drift.Clean() {
			var paths []string
			for _, c := range drift {
				if c.State != workflows.Same {
					paths = append(paths, c.Path+" ("+string(c.State)+")")
				}
			}
			return fail.New(exitcode.Failed, fmt.Errorf("init --check: %s drifted from what this ferry writes", strings.Join(paths, ", ")),
				"run ferry init to see the diff and ferry init --force to write it, or keep your edits")
		}
		fmt.Fprintln(opts.Err, "The pipeline is what this ferry writes.")
		return nil
	}
	if !opts.DryRun {
		if _, err := workflows.Write(top, files, opts.Force); err != nil {
			return err
		}
		res.Written = true
	}
	for _, c := range drift {
		what := map[workflows.State]string{workflows.Same: "unchanged", workflows.New: "written", workflows.Changed: "replaced"}[c.State]
		if opts.DryRun && c.State != workflows.Same {
			what = "would be " + what
		}
		fmt.Fprintf(opts.Err, "  %-40s %s\n", c.Path, what)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(opts.Err, "note: %s\n", n)
	}
	if opts.GitHub {
		gh, err := opts.setUpGitHub(cfg, repo)
		res.GitHub = gh
		if err != nil {
			return err
		}
	}
	if !opts.DryRun && !opts.JSON {
		fmt.Fprintf(opts.Out, "ferry is set up in %s: commit %s and .github/, then push dev to deploy development.\n", top, rel)
	}
	return nil
}

// tempDir is the system's temporary directory.
func (c Common) tempDir() string { return os.TempDir() }

// newFerryYML is a new ferry.yml from what detect learned in appDir and
// the flags, and the notes a person should read.
func newFerryYML(opts *InitOptions, appDir string) ([]byte, []string, error) {
	platform := opts.Platform
	if platform == "" {
		platform = "windows"
	}
	r, err := detect.Detect(appDir, detect.Options{Platform: platform})
	if err != nil {
		return nil, nil, fail.New(exitcode.Usage, fmt.Errorf("init: %w", err), "run ferry init in the app's directory, or give --config a path there")
	}
	notes := append([]string(nil), r.Notes...)
	app := appName(appDir)
	start := "python app.py"
	if r.Start != nil {
		start = r.Start.Command
		notes = append(notes, fmt.Sprintf("start: %s (from %s)", start, r.Start.From))
	} else {
		notes = append(notes, "nothing says how the app starts: start: "+start+" is a guess, correct it")
	}
	health := r.Health
	if health == "" {
		health = "/"
		notes = append(notes, "no health endpoint found: health.url checks / (a /health answering 200 is better)")
	}
	root := opts.Root
	if root == "" {
		root = `C:\Apps\` + app
		if platform == "linux" {
			root = "/srv/" + app
		}
	}
	region, bucket := opts.Region, opts.Bucket
	if region == "" {
		region = "us-east-1"
		notes = append(notes, "no --region: ssm.region is us-east-1, correct it")
	}
	if bucket == "" {
		bucket = app + "-deploy"
		notes = append(notes, "no --bucket: ssm.bucket is "+bucket+", correct it")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ferry.yml written by ferry init %s from what it found in this repository.\n", version.Get().Version)
	b.WriteString("# Every key: docs/config.md. Yours to edit: ferry init keeps it.\n")
	fmt.Fprintf(&b, "app: %s\nstart: %s\n", app, yamlScalar(start))
	if r.Requirements != "" {
		fmt.Fprintf(&b, "requirements: %s\n", yamlScalar(r.Requirements))
	}
	if shared := sharedPaths(appDir); len(shared) > 0 {
		b.WriteString("# Data that outlives releases (Flask's instance folder with its SQLite\n# database, uploads): kept in shared/ on the servers, linked into each release.\n")
		fmt.Fprintf(&b, "shared: [%s]\n", strings.Join(shared, ", "))
		notes = append(notes, "shared: ["+strings.Join(shared, ", ")+"]: kept across releases (the first deploy warns of other data the app writes into its release)")
	}
	fmt.Fprintf(&b, "health:\n  url: http://127.0.0.1:8000%s\n", health)
	b.WriteString("environments:\n")
	for _, e := range []struct{ name, branch string }{{"development", "dev"}, {"production", "master"}} {
		fmt.Fprintf(&b, "  %s:\n    branch: %s\n    target: ssm\n    root: %s\n    ssm:\n      region: %s\n      bucket: %s\n", e.name, e.branch, yamlScalar(root), yamlScalar(region), yamlScalar(bucket))
		switch {
		case len(opts.InstanceIDs) > 0:
			fmt.Fprintf(&b, "      instance_ids: [%s]\n", strings.Join(opts.InstanceIDs, ", "))
		case len(opts.Tags) > 0:
			b.WriteString("      tags:\n")
			for _, k := range slices.Sorted(maps.Keys(opts.Tags)) {
				fmt.Fprintf(&b, "        %s: %s\n", yamlScalar(k), yamlScalar(opts.Tags[k]))
			}
		default:
			fmt.Fprintf(&b, "      tags:\n        Role: %s\n", yamlScalar(app))
		}
	}
	if len(opts.InstanceIDs) == 0 && len(opts.Tags) == 0 {
		notes = append(notes, "no --tags or --instance-ids: the environments select instances tagged Role="+app+", correct it")
	}
	return b.Bytes(), notes, nil
}

var plainScalar = text.Pattern(`^[A-Za-z0-9_./~:=+-][A-Za-z0-9_./~:=+ ,-]*$`)

// yamlScalar is s as a YAML scalar: plain when it is safe, else single-quoted.
func yamlScalar(s string) string {
	if plainScalar().MatchString(s) && !strings.Contains(s, ": ") && !strings.HasSuffix(s, ":") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

var appNameBad = text.Pattern(`[^A-Za-z0-9_.-]+`)

// appName is the directory's name as an app name.
func appName(dir string) string {
	n := strings.Trim(appNameBad().ReplaceAllString(filepath.Base(dir), "-"), "-.")
	if n == "" {
		return "app"
	}
	return strings.ToLower(n)
}

// sharedPaths are the directories of data an app keeps between releases:
// Flask's instance folder, and upload folders the repository holds.
func sharedPaths(dir string) []string {
	var out []string
	if hasInstanceDir(dir) {
		out = append(out, "instance")
	}
	for _, d := range []string{"uploads", "media"} {
		if st, err := os.Stat(filepath.Join(dir, d)); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// hasInstanceDir: Flask keeps an app's data in instance/ (an existing
// directory, or instance_relative_config in the source).
func hasInstanceDir(dir string) bool {
	if st, err := os.Stat(filepath.Join(dir, "instance")); err == nil && st.IsDir() {
		return true
	}
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if n := d.Name(); p != dir && (strings.HasPrefix(n, ".") || n == "venv" || n == "node_modules" || n == "tests" || n == "__pycache__") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".py") {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte("instance_relative_config=True")) {
				found = true
			}
		}
		return nil
	})
	return found
}

// downloadURLRe finds the ferry action's download-url in a workflow
// ferry init wrote.
var downloadURLRe = text.Pattern(`(?m)^\s+download-url: "([^"]+)"$`)

// windowsRoot is a drive-letter path.
var windowsRoot = text.Pattern(`^[A-Za-z]:[\\/]`)

// model is the pipeline for cfg: its environments with their branches,
// the servers' platform (the flag, else the roots' kind), this ferry's
// version, the gate pins kept from the repository's requirements file.
func (opts *InitOptions) model(cfg *config.Config, top, cfgRel string) (workflows.Model, error) {
	m := workflows.Model{App: cfg.App, Config: cfgRel, FerryVersion: opts.FerryVersion, FerryDownloadURL: opts.FerryDownloadURL}
	platform := opts.Platform
	for _, name := range cfg.EnvironmentNames() {
		e := cfg.Environments[name]
		if platform == "" && e.Target == config.TargetSSM {
			platform = "linux"
			if windowsRoot().MatchString(e.Root) {
				platform = "windows"
			}
		}
		m.Environments = append(m.Environments, workflows.Environment{Name: name, Branch: e.Branch,
			Production: name == "production" || e.Branch == "master" || e.Branch == "main"})
	}
	if platform == "" {
		platform = "windows"
	}
	m.Platform = workflows.Platform(platform)
	if m.FerryVersion == "" {
		if v := version.Get(); v.Source == version.SourceRelease || v.Source == version.SourceModule {
			m.FerryVersion = v.Version
		}
	}
	if cfg.Requirements != "" {
		dir := filepath.Dir(cfgRel)
		if cfg.Dir != "" {
			dir = cfg.Dir
		}
		m.AppRequirements = filepath.ToSlash(filepath.Clean(filepath.Join(dir, cfg.Requirements)))
		if strings.HasSuffix(m.AppRequirements, "pyproject.toml") {
			m.AppRequirements = strings.TrimSuffix(m.AppRequirements, "pyproject.toml")
			if m.AppRequirements == "" {
				m.AppRequirements = "./"
			}
		}
	}
	if m.FerryDownloadURL == "" {
		// A mirror given once is kept, as the pins are.
		if b, err := os.ReadFile(filepath.Join(top, filepath.FromSlash(workflows.CheckPath))); err == nil {
			if sm := downloadURLRe().FindSubmatch(b); sm != nil {
				m.FerryDownloadURL = string(sm[1])
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(top, filepath.FromSlash(workflows.DefaultGateRequirements))); err == nil {
		pins, err := workflows.ParseGateRequirements(b)
		if err != nil {
			return m, err
		}
		m.GatePins = pins
	}
	return m, nil
}

// setUpGitHub creates or updates the GitHub environments of cfg.
func (opts *InitOptions) setUpGitHub(cfg *config.Config, repo gitrepo.Repo) (*initGitHub, error) {
	ctx := opts.context()
	slug := opts.Repo
	if slug == "" {
		out, err := exec.CommandContext(ctx, "git", "-C", repo.Dir, "remote", "get-url", "origin").Output()
		if err != nil {
			return nil, fail.Usage(errors.New("init --github: no --repo and no origin remote to read it from"), "give --repo OWNER/REPO")
		}
		slug = strings.TrimSpace(string(out))
	}
	r, err := github.ParseRepo(slug)
	if err != nil {
		return nil, err
	}
	token := opts.Getenv("GITHUB_TOKEN")
	if token == "" {
		if out, err := exec.CommandContext(ctx, "gh", "auth", "token").Output(); err == nil {
			token = strings.TrimSpace(string(out))
		}
	}
	if token == "" && !opts.DryRun {
		return nil, fail.New(exitcode.Usage, errors.New("init --github: no GitHub token"),
			"set GITHUB_TOKEN (a token that may administer the repository), or log in with gh auth login", "ferry init --github --dry-run prints the requests without one")
	}
	c := github.New(token)
	if u := opts.Getenv("GITHUB_API_URL"); u != "" {
		c.BaseURL = u
	}
	if opts.DryRun {
		c.DryRun = opts.Out
	}
	gh := &initGitHub{Repository: r.String(), DryRun: opts.DryRun}
	var reviewers []github.Reviewer
	for _, who := range opts.Reviewers {
		if strings.Contains(who, "/") {
			reviewers = append(reviewers, github.Reviewer{Team: who})
		} else {
			reviewers = append(reviewers, github.Reviewer{User: who})
		}
	}
	for _, name := range cfg.EnvironmentNames() {
		e := cfg.Environments[name]
		env := github.Environment{Name: name, Variables: map[string]string{}}
		if e.Branch != "" {
			env.Branches = []string{e.Branch}
		}
		if e.SSM != nil && e.SSM.Region != "" {
			env.Variables[workflows.VarRegion] = e.SSM.Region
		}
		if name == "production" || e.Branch == "master" || e.Branch == "main" {
			env.Reviewers, env.WaitTimer = reviewers, opts.WaitTimer
		}
		fmt.Fprintf(opts.Err, "GitHub environment %s of %s", name, r)
		if len(env.Branches) > 0 {
			fmt.Fprintf(opts.Err, ": deploys from %s", strings.Join(env.Branches, ", "))
		}
		if len(env.Reviewers) > 0 {
			fmt.Fprintf(opts.Err, ", approved by %s", strings.Join(opts.Reviewers, ", "))
		}
		if env.WaitTimer > 0 {
			fmt.Fprintf(opts.Err, ", after %s min", strconv.Itoa(env.WaitTimer))
		}
		fmt.Fprintln(opts.Err)
		if err := c.EnsureEnvironment(ctx, r, env); err != nil {
			return gh, fail.Hint(fmt.Errorf("init --github: environment %s: %w", name, err), "the token needs administration: write on the repository")
		}
		gh.Environments = append(gh.Environments, name)
	}
	fmt.Fprintf(opts.Err, "note: set %s in each environment to its deploy role (ferry iam ENV prints it)\n", workflows.VarRoleARN)
	return gh, nil
}
