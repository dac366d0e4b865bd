package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gates"
)

// gateSummary is what a deploy records of the gates it ran or skipped.
type gateSummary struct {
	skipped bool
	report  *gates.Report
}

// runGatesForDeploy runs the quality gates on the commit about to be
// deployed; a failing blocking gate refuses the deploy (exit 6).
func (a *app) runGatesForDeploy(ctx context.Context, t *target, sha string, skip bool) (*gateSummary, error) {
	if skip {
		fmt.Fprintf(a.io.Err, "%s quality gates skipped (--skip-gates): recorded in the result\n", (&progress{color: a.color()}).paint(yellow, "warning:"))
		return &gateSummary{skipped: true}, nil
	}
	// The work tree is the commit when it is clean and on it; otherwise
	// check the commit itself out beside it.
	top := t.repo.Dir
	if t.repo.HeadSHA() != sha {
		dir, cleanup, err := t.repo.Worktree(sha)
		if err != nil {
			return nil, fmt.Errorf("check out %s for the gates: %w", short(sha), err)
		}
		defer cleanup()
		top = dir
	}
	appDir := filepath.Join(top, filepath.FromSlash(t.appDir))
	fmt.Fprintf(a.io.Err, "Quality gates on %s\n", short(sha))
	rep, err := a.runGates(ctx, t.cfg, appDir, t.name)
	if err != nil {
		return nil, err
	}
	gates.WriteTerminal(a.io.Err, rep, a.color())
	if !rep.Passed {
		return nil, fail.New(exitcode.Refused, fmt.Errorf("deploy refused: blocking gate %s failed", strings.Join(rep.BlockingFailures(), ", ")),
			"fix what the gates report and commit, or run ferry check to iterate; --skip-gates deploys anyway and is recorded")
	}
	return &gateSummary{report: rep}, nil
}

// runGates runs cfg's gates in appDir with the environment's variables.
func (a *app) runGates(ctx context.Context, cfg *config.Config, appDir, env string) (*gates.Report, error) {
	p := &progress{w: a.io.Err, color: a.color()}
	opts := gates.Options{
		AppDir: appDir, Env: cfg.AppEnv(env), Requirements: cfg.Requirements, Start: cfg.Start,
		Progress: func(ev gates.Event) { a.gateProgress(p, ev) },
	}
	rep, err := gates.Run(ctx, cfg.Gates, opts)
	if err != nil {
		return rep, fmt.Errorf("run gates: %w", err)
	}
	if md := a.getenv("GITHUB_STEP_SUMMARY"); md != "" && a.inActions() {
		f, err := os.OpenFile(md, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			gates.WriteMarkdown(f, rep)
			f.Close()
		}
	}
	return rep, nil
}
