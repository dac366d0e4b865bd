package gates

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/startcmd/appref"
)

// smokeScript imports each module named in argv and writes one JSON record
// per module to $FERRY_SMOKE_OUT: a file, because an app may print on
// import. An argument MODULE:NAME also looks NAME up in the module, and
// MODULE:NAME() checks that it can be called, without calling it: an app
// factory may need what only production has. For a failure it names the
// innermost frame inside the app directory, which is where the fix goes.
const smokeScript = `import importlib, json, os, sys, time, traceback
root = os.path.realpath(os.getcwd())
out = []
for arg in sys.argv[1:]:
    name, _, attr = arg.partition(":")
    call = attr.endswith("()")
    attr = attr[:-2] if call else attr
    t0 = time.monotonic()
    rec = {"module": name, "ok": True}
    try:
        obj = importlib.import_module(name)
        if attr:
            for part in attr.split("."):
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    raise AttributeError("module %r has no attribute %r, which the start command serves" % (name, attr)) from None
            if call and not callable(obj):
                raise TypeError("%s:%s is called by the start command but is not callable" % (name, attr))
    except BaseException as exc:
        rec["ok"] = False
        rec["type"] = type(exc).__name__
        rec["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        rec["traceback"] = traceback.format_exc()[-4000:]
        for fr in traceback.extract_tb(exc.__traceback__):
            if fr.filename.startswith("<"):
                continue  # this script's own frames, "<string>"
            fn = os.path.realpath(fr.filename)
            if fn.startswith(root + os.sep):
                rec["file"], rec["line"] = os.path.relpath(fn, root), fr.lineno
        if isinstance(exc, SyntaxError) and exc.filename:
            fn = os.path.realpath(exc.filename)
            if fn.startswith(root + os.sep):
                rec["file"], rec["line"] = os.path.relpath(fn, root), exc.lineno or 0
    rec["seconds"] = time.monotonic() - t0
    out.append(rec)
with open(os.environ["FERRY_SMOKE_OUT"], "w", encoding="utf-8") as f:
    json.dump(out, f)
sys.exit(0 if all(r["ok"] for r in out) else 1)
`

type smokeRecord struct {
	Module    string  `json:"module"`
	OK        bool    `json:"ok"`
	Type      string  `json:"type"`
	Error     string  `json:"error"`
	Traceback string  `json:"traceback"`
	File      string  `json:"file"`
	Line      int     `json:"line"`
	Seconds   float64 `json:"seconds"`
}

func runSmokeGate(ctx context.Context, e *runEnv, g SmokeGate, r *Result) {
	if !needPython(e, r) {
		return
	}
	r.Tool = e.python
	tree, err := e.appTree()
	if err != nil {
		execFailed(r, "python", err)
		return
	}
	// The modules configured, else the one the start command serves, else
	// every top-level module of the app.
	imports := g.Modules
	var dirs []string
	if len(imports) == 0 {
		if t := appref.Parse(e.start, e.userEnv.get); t.Module != "" && (!t.Guessed || tree.holdsModule(t)) {
			ref := t.Module
			if t.Attr != "" {
				ref += ":" + t.Attr
				if t.Call {
					ref += "()"
				}
			}
			imports, dirs = []string{ref}, t.Dirs
		} else {
			imports = tree.layout.appModules()
		}
	}
	if len(imports) == 0 {
		r.Status = StatusSkipped
		r.Summary = "no app modules found to import"
		r.Hint = "list them in gates.smoke.modules"
		return
	}
	tmp, err := e.gateTmp("smoke")
	if err != nil {
		execFailed(r, "python", err)
		return
	}
	out := filepath.Join(tmp, "smoke.json")
	argv := append([]string{e.python}, g.Args...)
	argv = append(argv, "-c", smokeScript)
	argv = append(argv, imports...)
	extra := map[string]string{"FERRY_SMOKE_OUT": out}
	if p := e.importPath(dirs); p != "" {
		extra["PYTHONPATH"] = p
	}
	res, ok := e.runTool(ctx, r, "python", argv, extra)
	if !ok {
		return
	}
	data, err := os.ReadFile(out)
	var recs []smokeRecord
	if err == nil {
		err = json.Unmarshal(data, &recs)
	}
	if err != nil {
		toolError(r, fmt.Sprintf("the import check exited %d without a report", res.ExitCode),
			"an import may have ended the interpreter (os._exit); run python -c 'import MODULE' in the app directory", res)
		return
	}
	applySmoke(r, recs)
}

func applySmoke(r *Result, recs []smokeRecord) {
	var failed []string
	for _, rec := range recs {
		tc := TestCase{Name: "import " + rec.Module, Classname: "smoke", Status: CasePassed,
			Duration: time.Duration(rec.Seconds * float64(time.Second))}
		if !rec.OK {
			tc.Status = CaseFailed
			tc.Message = rec.Error
			tc.Detail = tail(rec.Traceback, 60)
			failed = append(failed, fmt.Sprintf("%s (%s)", rec.Module, rec.Type))
			r.Findings = append(r.Findings, Finding{File: filepath.ToSlash(rec.File), Line: rec.Line, Rule: rec.Type,
				Level: "error", Message: fmt.Sprintf("import %s failed: %s", rec.Module, rec.Error)})
			if rec.Traceback != "" {
				r.Output = rec.Traceback
			}
		}
		r.Tests = append(r.Tests, tc)
	}
	r.Figures = map[string]float64{"modules": float64(len(recs)), "failed": float64(len(failed))}
	if len(failed) == 0 {
		r.Status = StatusPassed
		r.Summary = plural(len(recs), "module") + " imported"
		return
	}
	r.Status = StatusFailed
	r.Summary = fmt.Sprintf("%d of %s failed to import: %s", len(failed), plural(len(recs), "module"), strings.Join(failed, ", "))
	r.Hint = "the release would not start; install the missing dependency or fix the import"
}
