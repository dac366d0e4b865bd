// Package workflows writes the GitHub Actions pipeline `ferry init`
// installs in an app repository, from a small model, and lints workflows
// for `ferry lint`. docs/pipeline.md describes the pipeline for users.
//
// The four workflows (templates/ embedded, rendered with text/template
// using [[ ]] so that GitHub's ${{ }} stays text):
//
//   - ferry-check.yml: the gates alone (pull_request, push to branches
//     that do not deploy, workflow_dispatch, and workflow_call as
//     ferry-cicd.yml's gates job): `ferry check --junit --sarif`, SARIF to
//     code scanning, JUnit as an artifact, an annotation on failure.
//   - ferry-cicd.yml: push to a deploying branch (and workflow_dispatch):
//     gates, then ferry-deploy.yml with the environment the branch selects.
//   - ferry-deploy.yml: workflow_call(environment, ref): environment with
//     its URL, one queue per environment, OIDC credentials for the
//     environment's role, `ferry doctor ENV`, `ferry deploy ENV`.
//   - ferry-rollback.yml: workflow_dispatch with the environment as a
//     choice and an optional release or SHA: `ferry rollback`.
//
// The CLI's calls:
//
//	files, err := workflows.Render(workflows.Model{App: "billing", Environments: …})
//	drift, err := workflows.Compare(repoRoot, files)    // ferry init: show drift.Diff(); --check: fail unless drift.Clean()
//	drift, err = workflows.Write(repoRoot, files, force) // ferry init [--force]: refuses to replace edited files without force
//	findings, err := workflows.Lint(paths...)            // ferry lint [PATH…]: print each Finding.String()
//	pins, err := workflows.ParseGateRequirements(b)       // keep the pins a person set in the requirements file
//
// Render lints what it renders (LintFiles) with actionlint v1.7.12 used
// as a library plus ferry's hardening rules (HardeningRule: permissions:
// {} at the top and the least per job, no ${{ }} in run:, checkout with
// persist-credentials: false, no secrets: inherit, actions pinned to a
// release tag or SHA), and fails rather than return a workflow with a
// finding. Lint applies the hardening rules to the files that carry
// Marker and plain actionlint to the others; shellcheck and pyflakes join
// in only when they are on PATH.
package workflows
