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
// # Adding a built-in gate
//
// A built-in gate is registered once, as an entry of builtins
// (builtins.go): its name, tool, start cost, default blocking and timeout,
// where its settings live in Config, its own defaults and checks, its run
// function and how the reports treat it. Config.WithDefaults,
// Config.Validate, Run and the report writers read that table and change
// for no gate. Adding one takes:
//
//   - a Gate* name constant beside the table;
//   - its section type (Enabled, Blocking, Timeout and Args, then its own
//     fields) and a Config field with the name as its yaml key, in the
//     table's order (TestEveryGateIsRegistered holds the two together;
//     ferry.yml's JSON schema follows the type by itself);
//   - the entry in builtins;
//   - its run function in a gate_*.go file: runReportTool for a tool that
//     writes its report to a file, else needTool and runTool.
//
// Exit codes are the CLI's business; the mapping intended is: Report.Passed
// → 0, a Report that did not pass → exitcode.Refused (6); an invalid
// configuration is a usage error (*fail.Error, exit 2) from Run.
//
// The benchmark comparing parallel and sequential runs is
//
//	go test -run '^$' -bench CheckParallel -benchtime 5x ./internal/gates/
package gates
