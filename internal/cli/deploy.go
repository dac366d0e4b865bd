package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gitrepo"
	"github.com/ferryhq/ferry/internal/transport"
)

// target is an environment resolved against the configuration and the
// repository: everything needed to build specs for it.
type target struct {
	cfg    *config.Config
	name   string
	env    *config.Environment
	repo   gitrepo.Repo
	appDir string // relative to the repository top
	root   string // absolute, for local targets
	tr     transport.Transport
}

// resolveEnv picks the environment: the argument, or the one whose branch
// is the current branch.
func (a *app) resolveEnv(cfg *config.Config, args []string, repo *gitrepo.Repo) (string, error) {
	names := strings.Join(cfg.EnvironmentNames(), ", ")
	if len(args) > 0 {
		if _, ok := cfg.Environments[args[0]]; !ok {
			return "", fail.New(exitcode.Usage, fmt.Errorf("unknown environment %q", args[0]), fmt.Sprintf("%s defines: %s", cfg.File, names))
		}
		return args[0], nil
	}
	if repo == nil {
		return "", fail.New(exitcode.Usage, errors.New("no environment given"), "name one of: "+names)
	}
	branch, err := repo.Branch()
	if err != nil {
		return "", fail.New(exitcode.Usage, fmt.Errorf("no environment given and %w", err), "name one of: "+names)
	}
	name, ok := cfg.EnvironmentForBranch(branch)
	if !ok {
		return "", fail.New(exitcode.Usage, fmt.Errorf("no environment deploys branch %q", branch), "name one of "+names+", or set branch: in ferry.yml")
	}
	return name, nil
}

func (a *app) target(cfg *config.Config, args []string, needRepo bool) (*target, error) {
	t := &target{cfg: cfg}
	cfgDir := filepath.Dir(cfg.File)
	repo, repoErr := gitrepo.Open(cfgDir)
	if repoErr == nil {
		t.repo = repo
	} else if needRepo {
		return nil, fail.New(exitcode.Usage, repoErr, "ferry deploys commits: run it inside the app's git repository")
	}
	var rp *gitrepo.Repo
	if repoErr == nil {
		rp = &repo
	}
	name, err := a.resolveEnv(cfg, args, rp)
	if err != nil {
		return nil, err
	}
	t.name, t.env = name, cfg.Environments[name]
	if repoErr == nil {
		// dir is relative to the repository; by default, where ferry.yml is.
		if cfg.Dir == "." && !hasExplicitDir(cfg) {
			t.appDir, err = repo.Rel(cfgDir)
			if err != nil {
				return nil, fail.New(exitcode.Usage, err, "keep ferry.yml inside the repository")
			}
		} else {
			t.appDir = filepath.ToSlash(filepath.Clean(cfg.Dir))
		}
	}
	switch t.env.Target {
	case config.TargetLocal:
		root := t.env.Root
		if !filepath.IsAbs(root) {
			root = filepath.Join(cfgDir, root)
		}
		t.root, err = filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		t.tr = transport.Local{Fault: a.getenv("FERRY_AGENT_FAULT")}
	case config.TargetSSM:
		tr, err := a.ssmTransport(t)
		if err != nil {
			return nil, err
		}
		t.tr = tr
		t.root = t.env.Root
	}
	return t, nil
}

// ssmTransport is replaced when the ssm transport is built in.
var ssmTransportHook func(a *app, t *target) (transport.Transport, error)

func (a *app) ssmTransport(t *target) (transport.Transport, error) {
	if ssmTransportHook == nil {
		return nil, fail.New(exitcode.Usage, fmt.Errorf("environment %s uses target ssm, which this build does not include", t.name), "use target: local")
	}
	return ssmTransportHook(a, t)
}

func hasExplicitDir(cfg *config.Config) bool { return cfg.HasKey("dir") }

// baseSpec fills what every operation's spec shares.
func (t *target) baseSpec(op string) agent.Spec {
	c := t.cfg
	start, _ := config.SplitCommand(c.Start)
	return agent.Spec{
		Protocol: agent.Protocol, Op: op, Root: t.root, App: c.App, Environment: t.name,
		Start: start, Vars: c.AppEnv(t.name), EnvFile: c.EnvFile, Shared: c.Shared,
		Health: agent.HealthSpec{URL: c.Health.URL, Status: c.Health.Status, VersionField: c.Health.VersionField,
			Deadline: c.Health.Deadline, Interval: c.Health.Interval},
		StopTimeout: c.StopTimeout, KeepReleases: c.KeepReleases, KeepFailed: c.KeepFailed,
		Deployer: t.repo.Deployer(), RunURL: gitrepo.RunURL(), RunAs: t.env.RunAs,
	}
}

type deployOpts struct {
	ref       string
	lockWait  time.Duration
	skipGates bool
}

func (a *app) deployCmd() *cobra.Command {
	var o deployOpts
	cmd := &cobra.Command{
		Use:   "deploy [ENV]",
		Short: "Deploy a commit to an environment, health-check it, roll back when it is not healthy",
		Long: `Deploy the commit --ref (default HEAD) to ENV, or, without ENV, to the
environment whose branch: is the current branch (GITHUB_REF_NAME in GitHub
Actions). Uncommitted changes are not deployed: commit them first.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return a.deploy(cmd.Context(), args, o) },
	}
	cmd.Flags().StringVar(&o.ref, "ref", "HEAD", "the commit to deploy: a branch, tag or SHA")
	cmd.Flags().DurationVar(&o.lockWait, "lock-wait", 0, "wait this long for another deploy's lock instead of failing")
	cmd.Flags().BoolVar(&o.skipGates, "skip-gates", false, "deploy without running the quality gates (recorded)")
	return cmd
}

func (a *app) deploy(ctx context.Context, args []string, o deployOpts) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	t, err := a.target(cfg, args, true)
	if err != nil {
		return err
	}
	sha, err := t.repo.Resolve(o.ref)
	if err != nil {
		return fail.New(exitcode.Usage, err, "give --ref a branch, tag or commit SHA that exists locally (git fetch first?)")
	}
	if o.ref == "HEAD" {
		dirty, err := t.repo.Dirty()
		if err != nil {
			return err
		}
		if len(dirty) > 0 {
			return fail.New(exitcode.Usage, fmt.Errorf("uncommitted changes are not deployable: %s", strings.Join(first(dirty, 5), ", ")),
				"commit (or stash) them and deploy again; ferry deploys commits, never the work tree")
		}
	}
	if !t.repo.HasPath(sha, t.appDir) {
		return fail.New(exitcode.Usage, fmt.Errorf("the app directory %s does not exist at %s", t.appDir, sha[:12]), "check dir: in ferry.yml")
	}
	gates, err := a.runGatesForDeploy(ctx, t, sha, o.skipGates)
	if err != nil {
		return err
	}
	spec := t.baseSpec(agent.OpApply)
	spec.SHA = sha
	spec.Source = agent.Source{Kind: "git", URL: t.repo.Dir, Subdir: t.appDir}
	spec.Python = cfg.Python
	spec.Requirements = cfg.Requirements
	spec.Pip.IndexURL, spec.Pip.FindLinks, spec.Pip.NoIndex = cfg.Pip.IndexURL, cfg.Pip.FindLinks, cfg.Pip.NoIndex
	spec.LockWait = o.lockWait
	fmt.Fprintf(a.io.Err, "Deploying %s %s to %s (%s)\n", cfg.App, sha[:12], t.name, t.env.Target)
	results, err := a.runSpec(ctx, t, spec)
	if err != nil {
		return err
	}
	return a.report(t, spec, results, gates)
}

func (a *app) runSpec(ctx context.Context, t *target, spec agent.Spec) ([]transport.TargetResult, error) {
	p := &progress{w: a.io.Err, color: a.color(), actions: a.inActions(), live: a.io.ErrIsTerminal && a.getenv("TERM") != "dumb"}
	results, err := t.tr.Run(ctx, spec, p.event)
	if err != nil {
		return nil, err
	}
	return results, nil
}

// deployReport is the --json shape of a deploy.
type deployReport struct {
	Environment  string                   `json:"environment"`
	App          string                   `json:"app"`
	SHA          string                   `json:"sha"`
	Outcome      string                   `json:"outcome"`
	ExitCode     int                      `json:"exit_code"`
	URL          string                   `json:"url,omitempty"`
	GatesSkipped bool                     `json:"gates_skipped"`
	Gates        any                      `json:"gates,omitempty"`
	Targets      []transport.TargetResult `json:"targets"`
	Error        string                   `json:"error,omitempty"`
}

// worst folds per-target outcomes: the highest exit code wins, since it
// names what needs the most attention.
func worst(results []transport.TargetResult) (string, int) {
	outcome, code := agent.OutcomeDeployed, 0
	for _, r := range results {
		if r.Result.ExitCode > code {
			outcome, code = r.Result.Outcome, r.Result.ExitCode
		}
	}
	return outcome, code
}

func (a *app) report(t *target, spec agent.Spec, results []transport.TargetResult, gates *gateSummary) error {
	outcome, code := worst(results)
	rep := deployReport{Environment: t.name, App: t.cfg.App, SHA: spec.SHA, Outcome: outcome, ExitCode: code, Targets: results, URL: appURL(t.cfg.Health.URL)}
	if gates != nil {
		rep.GatesSkipped = gates.skipped
		rep.Gates = gates.report
	}
	var errs []string
	for _, r := range results {
		if r.Result.Error != "" {
			errs = append(errs, r.Result.Error)
		}
	}
	rep.Error = strings.Join(errs, "; ")
	a.summarize(t, spec, results, outcome)
	if a.jsonOut {
		enc := json.NewEncoder(a.io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if code == 0 {
		where := "at " + rep.URL
		if strings.Contains(rep.URL, "${") || len(results) > 1 {
			// The URL varies per server (or is a template): name the servers.
			where = fmt.Sprintf("on %d servers", len(results))
			rep.URL = ""
		}
		fmt.Fprintf(a.io.Out, "%s %s is serving %s (%s, release %s)\n", t.cfg.App, spec.SHA[:12], where, t.name, results[0].Result.Release)
	}
	if code != 0 {
		return fail.New(code, errReported)
	}
	return nil
}

// summarize prints the closing lines on stderr and the step summary.
func (a *app) summarize(t *target, spec agent.Spec, results []transport.TargetResult, outcome string) {
	p := &progress{color: a.color()}
	var md strings.Builder
	fmt.Fprintf(&md, "### ferry %s %s → %s: %s\n\n| target | outcome | release | time |\n|---|---|---|---|\n", spec.Op, short(spec.SHA), t.name, outcome)
	for _, r := range results {
		res := r.Result
		mark := p.paint(green, "✓")
		if res.ExitCode != 0 {
			mark = p.paint(red, "✗")
		}
		who := ""
		if len(results) > 1 {
			who = r.Target + ": "
		}
		fmt.Fprintf(a.io.Err, "%s %s%s in %s", mark, who, res.Outcome, fmtMS(res.DurationMS))
		if res.Release != "" {
			fmt.Fprintf(a.io.Err, " (release %s)", res.Release)
		}
		fmt.Fprintln(a.io.Err)
		if len(res.LogTail) > 0 {
			fmt.Fprintf(a.io.Err, "  last %d lines of the failed release's log:\n", len(res.LogTail))
			for _, l := range res.LogTail {
				fmt.Fprintf(a.io.Err, "    %s\n", l)
			}
		}
		fail.Format(a.io.Err, res.Err())
		fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", r.Target, res.Outcome, res.Release, fmtMS(res.DurationMS))
	}
	if a.inActions() {
		appendStepSummary(a.getenv("GITHUB_STEP_SUMMARY"), md.String()+"\n")
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// appURL is where the app answers, from its health URL.
func appURL(health string) string {
	u, err := url.Parse(health)
	if err != nil {
		return health
	}
	return u.Scheme + "://" + u.Host + "/"
}
