package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gitrepo"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// target is an environment resolved against the configuration and the
// repository: everything needed to build specs for it.
type target struct {
	cfg  *config.Config
	name string
	env  *config.Environment
	// repo is the repository holding ferry.yml; inRepo is false outside
	// one, when repo.Dir is the working directory (for git's user.name).
	repo   gitrepo.Repo
	inRepo bool
	appDir string // relative to the repository top
	root   string // absolute, for local targets
	tr     transport.Transport
	ci     gitrepo.CI
	// svc and records are the environment's AWS clients and record
	// chain, made once by the first command step that needs them.
	svc     *ssm.Services
	records *recordstore.Store
	// who is the deployer, asked of git once (deployer).
	who func() string
}

// deployer names who deploys (gitrepo's Deployer), asking git once.
func (t *target) deployer() string {
	if t.who == nil { // a target made by hand, in a test
		return t.repo.Deployer(t.ci)
	}
	return t.who()
}

// resolveEnv picks the environment: the argument, or the one whose branch
// is the current branch.
func resolveEnv(cfg *config.Config, arg string, repo *gitrepo.Repo, ci gitrepo.CI) (string, error) {
	names := strings.Join(cfg.EnvironmentNames(), ", ")
	if arg != "" {
		if _, ok := cfg.Environments[arg]; !ok {
			return "", fail.New(exitcode.Usage, fmt.Errorf("unknown environment %q", arg), fmt.Sprintf("%s defines: %s", cfg.File, names))
		}
		return arg, nil
	}
	if repo == nil {
		return "", fail.New(exitcode.Usage, errors.New("no environment given"), "name one of: "+names)
	}
	branch, err := repo.Branch(ci)
	if err != nil {
		return "", fail.New(exitcode.Usage, fmt.Errorf("no environment given and %w", err), "name one of: "+names)
	}
	name, ok := cfg.EnvironmentForBranch(branch)
	if !ok {
		return "", fail.New(exitcode.Usage, fmt.Errorf("no environment deploys branch %q", branch), "name one of "+names+", or set branch: in ferry.yml")
	}
	return name, nil
}

// resolveTarget resolves environment arg ("" to choose by branch) of p
// and builds its transport. needRepo refuses to work outside a repository
// (a deploy needs commits; a rollback or a status does not).
func (c Common) resolveTarget(p *project, arg string, needRepo bool) (*target, error) {
	cfg := p.cfg
	t := &target{cfg: cfg, ci: c.CI, repo: gitrepo.Repo{Dir: c.WorkDir}}
	repo, repoErr := gitrepo.Open(p.dir)
	var rp *gitrepo.Repo
	if repoErr == nil {
		t.repo, t.inRepo, rp = repo, true, &repo
	} else if needRepo {
		return nil, fail.New(exitcode.Usage, repoErr, "ferry deploys commits: run it inside the app's git repository")
	}
	t.who = sync.OnceValue(func() string { return t.repo.Deployer(t.ci) })
	name, err := resolveEnv(cfg, arg, rp, c.CI)
	if err != nil {
		return nil, err
	}
	t.name, t.env = name, cfg.Environments[name]
	if t.inRepo {
		// dir is relative to the repository; by default, where ferry.yml is.
		if cfg.Dir == "." && !cfg.HasKey("dir") {
			t.appDir, err = repo.Rel(p.dir)
			if err != nil {
				return nil, fail.New(exitcode.Usage, err, "keep ferry.yml inside the repository")
			}
		} else {
			t.appDir = filepath.ToSlash(filepath.Clean(cfg.Dir))
		}
	}
	t.root = t.env.Root
	if t.env.Target == config.TargetLocal {
		root := t.env.Root
		if !filepath.IsAbs(root) {
			root = filepath.Join(p.dir, root)
		}
		if t.root, err = filepath.Abs(root); err != nil {
			return nil, err
		}
	}
	tt := Target{Name: t.name, Env: t.env, Root: t.root, AppDir: t.appDir, Getenv: c.Getenv, WorkDir: c.WorkDir, Log: c.Err, One: c.one}
	if t.inRepo {
		tt.RepoDir = t.repo.Dir
	}
	if t.tr, err = c.Transport(tt); err != nil {
		return nil, err
	}
	return t, nil
}

// loadTarget loads the --config file and resolves environment arg.
func (c Common) loadTarget(arg string, needRepo bool) (*target, error) {
	p, err := c.loadProject("")
	if err != nil {
		return nil, err
	}
	return c.resolveTarget(p, arg, needRepo)
}

// baseSpec fills what every operation's spec shares.
func (t *target) baseSpec(op string) agent.Spec {
	c := t.cfg
	start, _ := config.SplitCommand(c.Start)
	return agent.Spec{
		Protocol: agent.Protocol, Op: op, Root: t.root, App: c.App, Environment: t.name,
		Start: start, Vars: c.AppEnv(t.name), EnvFile: c.EnvFile, Shared: c.Shared,
		Health: agent.HealthSpec{URL: c.Health.URL, Status: c.Health.Status, VersionField: c.Health.VersionField,
			Deadline: c.Health.Deadline, Interval: c.Health.Interval, Watch: c.Health.Watch, WatchFailures: c.Health.WatchFailures},
		StopTimeout: c.StopTimeout, KeepReleases: c.KeepReleases, KeepFailed: c.KeepFailed,
		Deployer: t.deployer(), RunURL: t.ci.RunURL(), RunAs: t.env.RunAs,
	}
}
