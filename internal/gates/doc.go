// Package gates runs the quality gates `ferry check` requires before a
// deploy (pytest with coverage, pip-audit or an offline OSV audit, safety,
// bandit, flake8, pylint, an import smoke test, required environment
// variables, pip check, and custom commands) and writes their reports for
// people (terminal, Markdown) and machines (JSON, JUnit XML, SARIF).
//
// Run takes the `gates:` section of ferry.yml (Config) and facts about the
// app (Options) and returns a Report. Every figure in it comes from a
// tool's machine-readable output: pytest's JUnit XML, pytest-cov's
// Cobertura XML, bandit's and pip-audit's JSON, safety's JSON, flake8
// through a tab-separated --format template, and pylint through a small
// reporter (ferry_pylint_reporter.py, embedded) that writes pylint 3's
// json2 shape, score included, on pylint 2 and 3 alike.
//
// Tools are looked up beside the app's interpreter first (a virtualenv's
// bin or Scripts directory), then on PATH. pytest is run as
// `<python> -m pytest` when the app's interpreter has it, else the pytest
// on PATH, whose #! interpreter is asked whether pytest-cov is there.
//
// Exit codes are the CLI's business; the mapping intended is: Report.Passed
// → 0, a Report that did not pass → exitcode.Refused (6); an invalid
// configuration is a usage error (*fail.Error, exit 2) from Run.
//
// The benchmark comparing parallel and sequential runs is
//
//	go test -run '^$' -bench CheckParallel -benchtime 5x ./internal/gates/
package gates
