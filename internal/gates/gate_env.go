package gates

import (
	"fmt"
	"strings"
)

// runEnvGate checks names only. Values never reach the result: not in the
// summary, the findings, nor the output, since they may be secrets.
func runEnvGate(e *runEnv, g EnvGate, r *Result) {
	r.Tool = "(built-in)"
	if len(g.Required) == 0 {
		r.Status = StatusSkipped
		r.Summary = "no required variables configured"
		return
	}
	var missing []string
	for _, name := range g.Required {
		tc := TestCase{Name: name, Classname: "env", Status: CasePassed}
		if v, ok := e.userEnv.get(name); !ok || v == "" {
			missing = append(missing, name)
			tc.Status = CaseFailed
			tc.Message = name + " is not set"
			r.Findings = append(r.Findings, Finding{Rule: "missing-env", Level: "error",
				Message: fmt.Sprintf("required environment variable %s is not set or empty", name)})
		}
		r.Tests = append(r.Tests, tc)
	}
	r.Figures = map[string]float64{"required": float64(len(g.Required)), "missing": float64(len(missing))}
	if len(missing) == 0 {
		r.Status = StatusPassed
		r.Summary = fmt.Sprintf("%s present", plural(len(g.Required), "required variable"))
		return
	}
	r.Status = StatusFailed
	r.Summary = fmt.Sprintf("missing %d of %d: %s", len(missing), len(g.Required), strings.Join(missing, ", "))
	r.Hint = "set them in ferry.yml's env, or in the secret store for secrets"
}
