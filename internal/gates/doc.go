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
// The app's interpreter is the one given (Options.Python), else its own
// virtualenv (.venv, then venv), else python3 on PATH; every gate uses it.
// Tools are looked up beside it first (a virtualenv's bin or Scripts
// directory), then run as `<python> -m MODULE` when it can import them (a
// virtualenv made with --system-site-packages), then on PATH, so a tool
// sees the app's dependencies wherever they can be had. pytest is run as
// `<python> -m pytest` when the app's interpreter has it, else the pytest
// on PATH, whose #! interpreter is asked whether pytest-cov is there. One
// probe per run asks the interpreter which tools it has; it starts before
// the gates do.
//
// Every gate leaves out the same directories (tree.go), walked once per
// run: ferry's own (.ferry/, where a local deploy keeps releases and
// venvs, and any directory holding a .ferry-complete venv marker or a
// release's REVISION), virtualenvs (pyvenv.cfg), and the usual names
// (.venv, venv, .tox, build, dist, node_modules, __pycache__, .git, ...).
// Each tool is told in the way that adds to the project's own settings
// rather than replacing them: flake8 --extend-exclude, bandit -x and
// targets that stop short of the trees, pylint targets likewise (its
// --ignore would replace the project's), pytest --ignore, and coverage
// figures recounted without them.
//
// The smoke gate imports the module the start command serves (start.go
// reads gunicorn, uvicorn, waitress, flask, hypercorn, daphne, granian,
// uwsgi, python -m and python script.py command lines) and looks the app
// object up without calling it; src/ is on the import path of the smoke
// and tests gates when the app uses a src layout.
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
//     writes its report to a file, else pythonTool (or needTool for a
//     program that is not Python) and runTool.
//
// Exit codes are the CLI's business; the mapping intended is: Report.Passed
// → 0, a Report that did not pass → exitcode.Refused (6); an invalid
// configuration is a usage error (*fail.Error, exit 2) from Run.
//
// The benchmark comparing parallel and sequential runs is
//
//	go test -run '^$' -bench CheckParallel -benchtime 5x ./internal/gates/
package gates
