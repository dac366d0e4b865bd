package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/github"
	"github.com/ferryhq/ferry/internal/iam"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// IAMOptions are ferry iam's.
type IAMOptions struct {
	Common
	// Env is the environment.
	Env string
	// Format is json (default) or cloudformation (--format).
	Format string
	// Account is the AWS account (--account; default: whose the
	// credentials are, through STS); Repo is OWNER/REPO (--repo; default:
	// the origin remote).
	Account, Repo string
}

// NewCmdIAM is ferry iam; runF as for NewCmdDeploy.
func NewCmdIAM(f *Factory, runF func(*IAMOptions) error) *cobra.Command {
	opts := &IAMOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "iam ENV",
		Short: "Print least-privilege IAM for ENV: the GitHub OIDC provider, the deploy role, the instance role",
		Long: `Print what AWS needs for ENV to be deployed from GitHub Actions, with
exactly the calls ferry makes: the GitHub OIDC provider; the deploy role,
trusted only by jobs of --repo running in the GitHub environment ENV,
allowed SendCommand on ENV's document and instances, the reads and cancel
ferry uses, S3 under ENV's prefix; and the instance role. --format json
(IAM policy documents) or cloudformation (a template snippet). The account
is --account, or whose the current credentials are (STS).`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runIAM),
		PreRunE: func(*cobra.Command, []string) error {
			if opts.Format != "json" && opts.Format != "cloudformation" {
				return fail.Usage(fmt.Errorf("--format %q is not json or cloudformation", opts.Format), "give --format json or --format cloudformation")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "json", "json (IAM policy documents) or cloudformation")
	cmd.Flags().StringVar(&opts.Account, "account", "", "the 12-digit AWS account (default: the credentials', through STS)")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "the GitHub repository OWNER/REPO (default: the origin remote)")
	return cmd
}

func runIAM(opts *IAMOptions) error {
	t, err := opts.loadTarget(opts.Env, false)
	if err != nil {
		return err
	}
	if t.env.Target != config.TargetSSM || t.env.SSM == nil {
		return fail.Usage(fmt.Errorf("iam: environment %s deploys to target %s, which needs no AWS roles", t.name, t.env.Target), "run ferry iam for an environment with target: ssm")
	}
	s := t.env.SSM
	repo := opts.Repo
	if repo == "" && t.inRepo {
		if out, err := exec.CommandContext(opts.context(), "git", "-C", t.repo.Dir, "remote", "get-url", "origin").Output(); err == nil {
			repo = strings.TrimSpace(string(out))
		}
	}
	if repo == "" {
		return fail.Usage(errors.New("iam: no --repo and no origin remote to read it from"), "give --repo OWNER/REPO: the role trusts that repository's jobs only")
	}
	r, err := github.ParseRepo(repo)
	if err != nil {
		return err
	}
	account := opts.Account
	if account == "" {
		tr, isSSM := t.tr.(*ssm.Transport)
		if !isSSM {
			return fail.Usage(errors.New("iam: no --account"), "give --account with the 12-digit account ID")
		}
		if account, _, err = tr.Identity(opts.context()); err != nil {
			return fail.Hint(fmt.Errorf("iam: whose credentials: %w", err), "or give --account with the 12-digit account ID")
		}
	}
	platform := iam.Windows
	if !windowsRoot().MatchString(t.env.Root) {
		platform = iam.Linux
	}
	set, err := iam.For(iam.Options{Account: account, Region: s.Region, Repository: r.String(), Environment: t.name, App: t.cfg.App,
		Platform: platform, Document: s.Document, InstanceIDs: s.InstanceIDs, Tags: s.Tags, Bucket: s.Bucket, Prefix: s.Prefix,
		OutputPrefix: s.OutputPrefix, Calendars: t.env.ChangeCalendars})
	if err != nil {
		return err
	}
	var b []byte
	if opts.Format == "cloudformation" {
		b, err = set.CloudFormation()
	} else {
		b, err = set.JSON()
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		opts.setResult(iamResult{Environment: t.name, Account: account, Repository: r.String(), Format: opts.Format, Document: string(b)})
		return nil
	}
	_, err = opts.Out.Write(b)
	return err
}

// iamResult is ferry iam's --json result.
type iamResult struct {
	Environment string `json:"environment"`
	Account     string `json:"account"`
	Repository  string `json:"repository"`
	Format      string `json:"format"`
	// Document is what ferry iam prints without --json.
	Document string `json:"document"`
}
