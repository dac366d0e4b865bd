package gates

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/proc"
)

func runCustomGate(ctx context.Context, e *runEnv, g CustomGate, r *Result) {
	prog := g.Command[0]
	var path string
	var err error
	if strings.ContainsAny(prog, `/\`) {
		if !filepath.IsAbs(prog) {
			prog = filepath.Join(e.appDir, prog)
		}
		path, err = proc.LookPathIn(prog, "")
	} else {
		path, err = e.findTool(prog)
	}
	if err != nil {
		missingTool(r, g.Command[0], fmt.Sprintf("install %s, or fix gates.custom command for %q", g.Command[0], g.Name))
		return
	}
	r.Tool = path
	argv := append([]string{path}, g.Command[1:]...)
	argv = append(argv, g.Args...)
	res, ok := e.runTool(ctx, r, filepath.Base(path), argv, nil)
	if !ok {
		return
	}
	r.Figures = map[string]float64{"exit_code": float64(res.ExitCode)}
	if res.ExitCode == 0 {
		r.Status = StatusPassed
		r.Summary = "exit status 0"
		return
	}
	r.Status = StatusFailed
	r.Summary = fmt.Sprintf("exit status %d", res.ExitCode)
	if last := tail(res.Output, 1); last != "" && len(last) < 120 {
		r.Summary += ": " + last
	}
	r.Hint = "run " + strings.Join(g.Command, " ") + " in the app directory to see the failure"
}
