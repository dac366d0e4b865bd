// Package version says which ferry this is: the version, commit, build
// date and Go version of the running binary, for `ferry version`,
// `ferry-agent version`, the records and the agent cache.
//
// A release sets the values with the linker (goreleaser does):
//
//	-X github.com/ferryhq/ferry/internal/version.version=1.2.3
//	-X github.com/ferryhq/ferry/internal/version.commit=<full sha>
//	-X github.com/ferryhq/ferry/internal/version.date=<RFC 3339>
//
// Without them the Go build information is read instead: the module
// version when ferry was installed with `go install
// github.com/ferryhq/ferry/cmd/ferry@v1.2.3`, the vcs.revision, vcs.time
// and vcs.modified stamps when it was built from a git checkout, and
// "dev" otherwise.
//
// The package is standard library only: ferry-agent uses it too.
package version

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Set by the linker at release time (see the package comment). They are
// unexported so that nothing but -X can change what Get reports.
var (
	version string
	commit  string
	date    string
)

// ModulePath is ferry's module path: the main module of both binaries.
const ModulePath = "github.com/ferryhq/ferry"

// Dev is the version of a build that carries no version at all.
const Dev = "dev"

// Where the version came from, in Info.Source.
const (
	// SourceRelease: the linker flags of a release build.
	SourceRelease = "release"
	// SourceModule: the module version of `go install module@version`.
	SourceModule = "module"
	// SourceCheckout: the VCS stamps of a build in a git checkout.
	SourceCheckout = "checkout"
	// SourceDev: nothing said which version this is.
	SourceDev = "dev"
)

// Info describes the running binary.
type Info struct {
	// Version is the release version without a leading "v" ("1.2.3",
	// "0.0.0-SNAPSHOT-abc1234"), a module pseudo-version for a checkout
	// build that Go stamped with one, or "dev".
	Version string `json:"version"`
	// Module is the main module's version exactly as the go command
	// recorded it ("v1.2.3"), empty for "(devel)". It is what
	// `go mod download github.com/ferryhq/ferry@Module` fetches, which
	// is how package agentbin builds agents for a `go install`ed ferry.
	Module string `json:"module,omitempty"`
	// Commit is the full git commit the binary was built from, if known.
	Commit string `json:"commit,omitempty"`
	// Date is when that commit was made (RFC 3339, UTC), if known: a
	// commit date rather than the clock at build time, so rebuilding the
	// same commit gives the same binary.
	Date string `json:"date,omitempty"`
	// Modified is true when a checkout build had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the Go toolchain that built the binary ("go1.26.8").
	GoVersion string `json:"go"`
	// Platform is GOOS/GOARCH of the binary.
	Platform string `json:"platform"`
	// Source says where Version came from: one of the Source constants.
	Source string `json:"source"`
}

var (
	once   sync.Once
	cached Info
)

// Get returns the running binary's Info. It is computed once: neither
// the linker values nor the build information change while it runs.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		cached = compute(version, commit, date, bi)
	})
	return cached
}

// compute is Get without the globals, so every combination is testable.
func compute(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) Info {
	info := Info{GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var rev, vcsTime string
	modified := false
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if bi.Main.Path == ModulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Module = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	switch {
	case ldVersion != "":
		info.Source = SourceRelease
		info.Version = trimV(ldVersion)
		info.Commit, info.Date = ldCommit, ldDate
		// A release is built from a clean tag; the stamp is kept only
		// when the linker flags did not say which commit.
		if info.Commit == "" {
			info.Commit, info.Modified = rev, modified
		}
		if info.Date == "" {
			info.Date = vcsTime
		}
	case rev != "":
		// A checkout: Go 1.24 and later also stamp a pseudo-version
		// derived from the tags; without one the version is "dev".
		info.Source = SourceCheckout
		info.Version = Dev
		if info.Module != "" {
			info.Version = trimV(info.Module)
		}
		info.Commit, info.Date, info.Modified = rev, vcsTime, modified
	case info.Module != "":
		info.Source = SourceModule
		info.Version = trimV(info.Module)
	default:
		info.Source = SourceDev
		info.Version = Dev
	}
	return info
}

// trimV drops the "v" of a Go or git tag ("v1.2.3" → "1.2.3"), so a
// release, a go install and the action's input all read the same.
func trimV(v string) string {
	if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
		return v[1:]
	}
	return v
}

// ShortCommit is the first 12 characters of Commit, as git shows it.
func (i Info) ShortCommit() string {
	if len(i.Commit) > 12 {
		return i.Commit[:12]
	}
	return i.Commit
}

// String is the one-line form for --version:
// "1.2.3 (commit 0123456789ab, 2026-01-02T03:04:05Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (")
	if c := i.ShortCommit(); c != "" {
		fmt.Fprintf(&b, "commit %s", c)
		if i.Modified {
			b.WriteString(" with local changes")
		}
		b.WriteString(", ")
	}
	if i.Date != "" {
		b.WriteString(i.Date)
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "%s %s)", i.GoVersion, i.Platform)
	return b.String()
}

// JSON is Info as one line of JSON, for `version --json`.
func (i Info) JSON() []byte {
	// Info holds only strings and a bool: Marshal cannot fail.
	b, _ := json.Marshal(i)
	return b
}
