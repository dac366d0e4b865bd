package gates

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

// pipCheckLineRe matches the two kinds of problem line `pip check` writes:
// "<name> <version> has requirement <req>, but you have <name> <version>."
// and "<name> <version> requires <name>, which is not installed."; other
// lines (a platform mismatch) are counted as problems too.
var pipCheckLineRe = text.Pattern(`^(\S+) (\S+) (has requirement|requires) (.+?)(?:, but you have (\S+) (\S+?)|, which is not installed)\.?$`)

func runDepsGate(ctx context.Context, e *runEnv, g DepsGate, r *Result) {
	if !needPython(e, r) {
		return
	}
	probe, err := e.probe(ctx, e.python)
	if err != nil {
		execFailed(r, "python", err)
		return
	}
	argv := []string{e.python, "-m", "pip", "check"}
	r.Tool = e.python + " -m pip check"
	if !probe.Modules["pip"] {
		// Virtualenvs made by uv or with --without-pip have no pip of their
		// own; pip 22.3 and later can inspect another interpreter's packages.
		pip, ok := e.needTool(r, "pip", e.python+" -m ensurepip, or recreate the virtualenv with pip")
		if !ok {
			return
		}
		argv = []string{pip, "--python", e.python, "check"}
		r.Tool = strings.Join(argv, " ")
	}
	argv = append(argv, g.Args...)
	res, ok := e.runTool(ctx, r, "pip", argv, nil)
	if !ok {
		return
	}
	// The exit status is the verdict; the lines only itemise it.
	switch res.ExitCode {
	case 0:
		r.Status = StatusPassed
		r.Summary = "no broken requirements"
		r.Figures = map[string]float64{"problems": 0}
	case 1:
		r.Findings = parsePipCheck(string(res.Stdout))
		r.Figures = map[string]float64{"problems": float64(len(r.Findings))}
		r.Status = StatusFailed
		var names []string
		seen := map[string]bool{}
		for _, f := range r.Findings {
			if !seen[f.Rule] {
				seen[f.Rule] = true
				names = append(names, f.Rule)
			}
		}
		// The findings are pip's own lines; the output would repeat them.
		r.Output = ""
		r.Summary = fmt.Sprintf("%s: %s", plural(len(r.Findings), "broken requirement"), strings.Join(names, ", "))
		r.Hint = "install versions that satisfy each other (pip install -r requirements.txt in a fresh virtualenv shows the conflict)"
	default:
		toolError(r, fmt.Sprintf("pip check exited %d", res.ExitCode), "", res)
	}
}

// parsePipCheck itemises pip check's problem lines as findings whose rule
// is the package that is broken.
func parsePipCheck(out string) []Finding {
	var fs []Finding
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rule := "broken-requirement"
		if m := pipCheckLineRe().FindStringSubmatch(line); m != nil {
			rule = normalizeName(m[1])
		}
		fs = append(fs, Finding{Rule: rule, Level: "error", Message: line})
	}
	if len(fs) == 0 {
		fs = append(fs, Finding{Rule: "broken-requirement", Level: "error", Message: "pip check reported a problem"})
	}
	return fs
}
