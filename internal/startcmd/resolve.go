package startcmd

import (
	"strings"
)

// Venv is a release's virtualenv as Resolve sees it: where it is, on
// which platform's layout, and a way to ask whether a file exists (the
// real file system on the server; a map in a test of the other platform).
type Venv struct {
	// Dir is the venv's directory; "" when the release has none (python:
	// none), and Resolve changes nothing.
	Dir string
	// Windows selects Scripts\NAME.exe over bin/NAME.
	Windows bool
	// Exists reports whether a file is there.
	Exists func(path string) bool
}

// Bin is the venv's directory of programs: bin/ or Scripts\.
func (v Venv) Bin() string {
	if v.Windows {
		return v.join("Scripts")
	}
	return v.join("bin")
}

// Python is the venv's interpreter.
func (v Venv) Python() string {
	if v.Windows {
		return v.join("Scripts", "python.exe")
	}
	return v.join("bin", "python")
}

// pythonw is the windowless interpreter (Windows); Linux has none and
// runs python.
func (v Venv) pythonw() string {
	if v.Windows {
		return v.join("Scripts", "pythonw.exe")
	}
	return v.Python()
}

func (v Venv) join(parts ...string) string {
	sep := "/"
	if v.Windows {
		sep = `\`
	}
	return strings.TrimRight(v.Dir, `/\`) + sep + strings.Join(parts, sep)
}

// Resolve returns argv with its program made the release venv's own, as
// people mean it when they write a start command or a hook:
//
//   - python, python3, python3.12 (python.exe) are the venv's interpreter;
//   - pythonw (pythonw.exe, as a Windows SOP writes it) is the venv's
//     pythonw.exe on Windows and its python on Linux;
//   - py, the Windows launcher, is the venv's interpreter, its version
//     selector (-3.12) dropped: the venv already is that version;
//   - a bare name the venv's scripts hold (gunicorn, waitress-serve,
//     uvicorn, flask, alembic) is that script: bin/NAME, or
//     Scripts\NAME.exe on Windows, so a server installed in the venv wins
//     over one of the same name on the server's PATH, which would import
//     the system's packages, not the release's.
//
// Anything else (a path, a program the venv lacks) is returned as given.
// argv itself is not changed.
func Resolve(argv []string, v Venv) []string {
	out := append([]string(nil), argv...)
	if len(out) == 0 || v.Dir == "" {
		return out
	}
	prog := out[0]
	if strings.ContainsAny(prog, `/\`) {
		return out
	}
	switch {
	case interpreterNamed(prog, "python"):
		out[0] = v.Python()
	case interpreterNamed(prog, "pythonw"):
		out[0] = v.pythonw()
	case strings.EqualFold(prog, "py") || strings.EqualFold(prog, "py.exe"):
		out[0] = v.Python()
		if len(out) > 1 && launcherVersion(out[1]) {
			out = append(out[:1], out[2:]...)
		}
	default:
		if v.Exists == nil {
			return out
		}
		name := prog
		if v.Windows && !strings.Contains(name, ".") {
			for _, ext := range []string{".exe", ".cmd", ".bat"} {
				if p := v.join("Scripts", name+ext); v.Exists(p) {
					out[0] = p
					return out
				}
			}
		}
		if p := v.Bin() + map[bool]string{true: `\`, false: "/"}[v.Windows] + name; v.Exists(p) {
			out[0] = p
		}
	}
	return out
}
