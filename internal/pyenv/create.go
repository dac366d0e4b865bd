package pyenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/text"
)

// basePipMarker, in a venv, names the base interpreter whose pip fills it
// (`python -m pip --python VENV/python`): written by create when that
// pip was new enough, read by Install. A venv without it (made through
// ensurepip, or by an older agent) is filled by its own pip.
const basePipMarker = ".ferry-base-pip"

// ensurepipPlan asks the base interpreter what ensurepip would put in a
// new venv (its bundled pip, and setuptools before Python 3.12, at the
// versions ensurepip declares), where those wheels are, and which pip
// the interpreter itself has: ensurepip's own list where it has one
// (3.9 to 3.12, and patched distributions), else its public version and
// the setuptools version it has declared since 3.4; anything missing
// means "use ensurepip".
const ensurepipPlan = `
import ensurepip, json, os, sys
try:
    import pip
    have = pip.__version__
except Exception:
    have = ""
bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
wheels = []
try:
    # 3.9 to 3.12, and distributions' patched ensurepip (Debian's finds
    # whatever versions /usr/share/python-wheels holds).
    for p in ensurepip._get_packages().values():
        wheels.append(p.wheel_path or os.path.join(bundled, p.wheel_name))
        if not os.path.isfile(wheels[-1]):
            wheels[-1] = ""
    want = []
except Exception:
    wheels = []
    want = [("pip", ensurepip.version())]
    st = getattr(ensurepip, "_SETUPTOOLS_VERSION", None)
    if st:
        want.append(("setuptools", st))
dirs = [d for d in (getattr(ensurepip, "_WHEEL_PKG_DIR", None), bundled) if d]
for name, version in want:
    found = ""
    for d in dirs:
        try:
            files = sorted(os.listdir(d))
        except OSError:
            continue
        for f in files:
            if f.startswith(name + "-" + version + "-") and f.endswith(".whl"):
                found = os.path.join(d, f)
                break
        if found:
            break
    wheels.append(found)
print(json.dumps({"executable": sys.executable, "pip": have, "wheels": wheels}))
`

type pipPlan struct {
	Executable string   `json:"executable"`
	Pip        string   `json:"pip"`
	Wheels     []string `json:"wheels"`
}

// usable reports whether the base pip can fill a venv from outside it:
// `--python` came with pip 22.3; and every wheel ensurepip would install
// was found, so the venv gets exactly what ensurepip would give it.
func (p pipPlan) usable() bool {
	if p.Executable == "" || len(p.Wheels) == 0 || !pipAtLeast(p.Pip, 22, 3) {
		return false
	}
	for _, w := range p.Wheels {
		if w == "" {
			return false
		}
	}
	return true
}

// pipAtLeast compares pip's version (23.2.1, 22.3, 24.0b1) with major.minor.
func pipAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	digits := parts[1]
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i] // 0b1, 0rc2
	}
	mi, err2 := strconv.Atoi(digits)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// create makes the venv at dir (which does not exist). ensurepip takes
// ~4.5 s, nearly all of it running pip from a zip (every module compiled
// in memory) and compiling pip's own files; so when the base interpreter
// has pip 22.3 or later, the venv is made without pip and the base pip
// installs ensurepip's own wheels into it (~0.9 s): the same packages at
// the same versions, their bytecode compiled when first imported. Where
// that is not possible, or fails, ensurepip does it as before.
func create(ctx context.Context, python, dir string, venvArgs []string) error {
	plan, err := planPip(ctx, python)
	if err == nil && plan.usable() {
		if err = viaBasePip(ctx, python, plan, dir, venvArgs); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			return fmt.Errorf("remove partial venv: %w", rerr)
		}
	}
	return viaEnsurepip(ctx, python, dir, venvArgs)
}

func planPip(ctx context.Context, python string) (pipPlan, error) {
	// -I: no user site or PYTHON* variables, as the venv will be made.
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-I", "-c", ensurepipPlan)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := proc.Run(ctx, cmd); err != nil {
		return pipPlan{}, fmt.Errorf("ask %s about pip: %w: %s", python, err, strings.Join(text.LastLines(stderr.String(), 5), "\n"))
	}
	var p pipPlan
	err := json.Unmarshal(out.Bytes(), &p)
	return p, err
}

func viaBasePip(ctx context.Context, python string, plan pipPlan, dir string, venvArgs []string) error {
	// The interpreter as named makes the venv, as ensurepip's would.
	if err := runQuiet(ctx, python, append(append([]string{"-m", "venv", "--without-pip"}, venvArgs...), dir)...); err != nil {
		return fmt.Errorf("create venv with %s: %w", python, err)
	}
	// As ensurepip does: no index, no configuration, no dependencies
	// (the wheels are the whole set); --no-compile leaves bytecode to
	// the first import.
	args := append([]string{"-I", "-m", "pip", "--isolated", "--python", Interpreter(dir), "install",
		"--no-index", "--no-deps", "--no-compile", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--quiet"}, plan.Wheels...)
	if err := runQuiet(ctx, plan.Executable, args...); err != nil {
		return fmt.Errorf("install pip into the venv with %s's pip: %w", plan.Executable, err)
	}
	return os.WriteFile(filepath.Join(dir, basePipMarker), []byte(plan.Executable+"\n"), 0o644)
}

func viaEnsurepip(ctx context.Context, python, dir string, venvArgs []string) error {
	if err := runQuiet(ctx, python, append(append([]string{"-m", "venv"}, venvArgs...), dir)...); err != nil {
		return fmt.Errorf("create venv with %s: %w", python, err)
	}
	return nil
}

// runQuiet runs a child in its own process group, killed whole when ctx
// ends and never outliving the agent (ensurepip's pip is a grandchild);
// a failure carries the output's last lines.
func runQuiet(ctx context.Context, name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := proc.Run(ctx, cmd); err != nil {
		return fmt.Errorf("%w: %s", err, strings.Join(text.LastLines(out.String(), 10), "\n"))
	}
	return nil
}

// pipCommand is the command that runs pip with args for venv: the base
// interpreter's pip targeting the venv when create recorded one (its
// bytecode is compiled, the venv's own pip's is not yet), else the
// venv's own pip.
func pipCommand(ctx context.Context, venv string, args ...string) *exec.Cmd {
	if b, err := os.ReadFile(filepath.Join(venv, basePipMarker)); err == nil {
		if base := strings.TrimSpace(string(b)); base != "" {
			return exec.CommandContext(ctx, base, append([]string{"-m", "pip", "--python", Interpreter(venv)}, args...)...)
		}
	}
	return exec.CommandContext(ctx, Interpreter(venv), append([]string{"-m", "pip"}, args...)...)
}
