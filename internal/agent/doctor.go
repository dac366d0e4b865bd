package agent

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/pyenv"
)

// OpDoctor is the read-only check of a server for `ferry doctor`: the
// agent runs (its version), the root is writable, the interpreter and its
// version, free disk, and on Windows long paths, 64-bit PowerShell and the
// account the agent runs as. It changes nothing that serves: it takes no
// lock, and its only write is a probe file it removes.
const OpDoctor = "doctor"

// Check is one line of a doctor report.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Warn marks a problem that does not stop a deploy.
	Warn bool `json:"warn,omitempty"`
	// Detail says what was found; Fix what to do when not OK.
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// minFreeBytes is the free disk below which a deploy is likely to fail
// (a venv and a release are tens to hundreds of megabytes).
const minFreeBytes = 1 << 30

// doctor fills res.Doctor; a failed check makes the outcome failed.
func (o *op) doctor(ctx context.Context) string {
	var checks []Check
	add := func(c Check) { checks = append(checks, c) }
	add(Check{Name: "agent", OK: true, Detail: fmt.Sprintf("ferry-agent %s on %s/%s", o.res.AgentVersion, runtime.GOOS, runtime.GOARCH)})

	root := o.l.root
	add(rootCheck(root))

	python := o.spec.Python
	if python == "" {
		python = defaultPython()
	}
	if python == "none" {
		add(Check{Name: "python", OK: true, Detail: "python: none (the app needs no interpreter)"})
	} else {
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		v, err := pyenv.Version(vctx, python)
		cancel()
		if err != nil {
			add(Check{Name: "python", Detail: fmt.Sprintf("%s: %v", python, err), Fix: "install Python on the server, or set python: in ferry.yml to the interpreter's path"})
		} else {
			// Version is the venv key's material: the version line first,
			// the interpreter's path last.
			lines := strings.Split(strings.TrimSpace(v), "\n")
			what := fmt.Sprintf("%s is Python %s", python, strings.Fields(lines[0] + " ?")[0])
			if len(lines) > 1 && filepath.IsAbs(lines[len(lines)-1]) {
				what += " (" + lines[len(lines)-1] + ")"
			}
			add(Check{Name: "python", OK: true, Detail: what})
		}
	}

	dir := existingParent(root)
	if free, err := freeDisk(dir); err != nil {
		add(Check{Name: "disk", Warn: true, OK: true, Detail: fmt.Sprintf("free space of %s unknown: %v", dir, err)})
	} else {
		c := Check{Name: "disk", OK: free >= minFreeBytes, Detail: fmt.Sprintf("%s free on %s", bytesText(free), dir)}
		if !c.OK {
			c.Fix = "free space on the disk of the root (old releases: keep_releases in ferry.yml), or move root:"
		}
		add(c)
	}
	if u, err := user.Current(); err == nil {
		add(Check{Name: "account", OK: true, Detail: "the agent runs as " + u.Username})
	}
	checks = append(checks, platformChecks()...)
	o.res.Doctor = checks
	for _, c := range checks {
		if !c.OK {
			o.res.Error = "server check failed: " + c.Name + ": " + c.Detail
			if c.Fix != "" {
				o.res.Hints = append(o.res.Hints, c.Fix)
			}
		}
	}
	if o.res.Error != "" {
		return OutcomeFailed
	}
	return OutcomeOK
}

// rootCheck: the root (or the directory that would hold it) is writable.
func rootCheck(root string) Check {
	dir := existingParent(root)
	f, err := os.CreateTemp(dir, ".ferry-doctor-*")
	if err != nil {
		return Check{Name: "root", Detail: fmt.Sprintf("%s is not writable: %v", dir, err),
			Fix: "give the account the agent runs as (SSM Agent: SYSTEM or root) write access to " + dir + ", or change root:"}
	}
	f.Close()
	os.Remove(f.Name())
	what := root + " is writable"
	if dir != root {
		what = root + " does not exist yet; " + dir + " is writable (the first deploy creates it)"
	}
	return Check{Name: "root", OK: true, Detail: what}
}

// existingParent is path, or its nearest ancestor that exists.
func existingParent(path string) string {
	for p := path; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
			return p
		}
	}
}

func defaultPython() string {
	if runtime.GOOS == "windows" {
		return "python"
	}
	return "python3"
}

func bytesText(n uint64) string {
	const gb = 1 << 30
	if n >= gb {
		return fmt.Sprintf("%.1f GB", float64(n)/gb)
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// ps64 checks that the agent was not started by a 32-bit PowerShell on a
// 64-bit Windows (WOW64 sets PROCESSOR_ARCHITEW6432 for the 32-bit
// process, and its children inherit it): SSM's documents use the 64-bit
// one, and a 32-bit one sees another registry and Program Files.
func ps64(getenv func(string) string) Check {
	if a := getenv("PROCESSOR_ARCHITEW6432"); a != "" {
		return Check{Name: "powershell", Detail: "the agent was started by a 32-bit PowerShell (WOW64, " + strings.ToLower(a) + " machine)",
			Fix: "run the command with the 64-bit PowerShell (C:\\Windows\\System32\\WindowsPowerShell), as AWS-RunPowerShellScript does"}
	}
	return Check{Name: "powershell", OK: true, Detail: "64-bit (" + getenv("PROCESSOR_ARCHITECTURE") + ")"}
}
