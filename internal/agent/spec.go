// Package agent is the server-side engine of ferry: it deploys one release
// of a Python web app into a root directory, switches to it atomically,
// proves it healthy and rolls back when it is not. The same code runs
// in-process for the local target and as the ferry-agent binary on servers
// reached through SSM, so it depends on the standard library and
// golang.org/x/sys only.
package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/pyenv"
)

// Protocol is the spec version this agent speaks; a spec of another
// version is refused rather than half understood.
const Protocol = 1

// Operations the agent performs.
const (
	OpApply    = "apply"
	OpRollback = "rollback"
	OpStatus   = "status"
	OpReleases = "releases"
	OpUnlock   = "unlock"
	// OpRepair takes the lock, loads state.json (restoring or rebuilding
	// a damaged one), repairs what killed operations left, and reports
	// what it found (Result.Repair).
	OpRepair = "repair"
	// OpExec runs Command in the serving release, with its venv and
	// environment, and reports its exit code and output (Result.Exec).
	OpExec = "exec"
)

// Spec is everything the agent needs for one operation. It travels as
// base64url JSON on a command line, whose alphabet cannot break out of a
// quoted shell or PowerShell string.
type Spec struct {
	Protocol    int    `json:"protocol"`
	Op          string `json:"op"`
	Root        string `json:"root"`
	App         string `json:"app"`
	Environment string `json:"environment"`
	// SHA is the exact commit to deploy (apply).
	SHA    string `json:"sha,omitempty"`
	Source Source `json:"source,omitempty"`
	// Start is the app's command; a leading python/python3/pythonw means
	// the release's virtualenv interpreter.
	Start  []string `json:"start,omitempty"`
	Python string   `json:"python,omitempty"`
	// Runtime is python (or ""), node or none; python "none" also means
	// none (the spelling before runtime existed).
	Runtime      string            `json:"runtime,omitempty"`
	Requirements string            `json:"requirements,omitempty"`
	Pip          pyenv.PipOptions  `json:"pip,omitempty"`
	Vars         map[string]string `json:"env,omitempty"`
	EnvFile      string            `json:"env_file,omitempty"`
	Shared       []string          `json:"shared,omitempty"`
	Health       HealthSpec        `json:"health,omitempty"`
	StopTimeout  time.Duration     `json:"stop_timeout,omitempty"`
	KeepReleases int               `json:"keep_releases,omitempty"`
	KeepFailed   int               `json:"keep_failed,omitempty"`
	// Deployer and RunURL say who deploys; they go into the lock and the state.
	Deployer string `json:"deployer,omitempty"`
	RunURL   string `json:"run_url,omitempty"`
	// LockWait is how long to wait for another deploy's lock; zero fails at once.
	LockWait time.Duration `json:"lock_wait,omitempty"`
	// LockTTL is how long a lock is honoured before it counts as abandoned.
	LockTTL time.Duration `json:"lock_ttl,omitempty"`
	// RunAs is process (default) or service: who owns the app process.
	RunAs string `json:"run_as,omitempty"`
	// To names the release to roll back to (SHA prefix or release ID); empty means the previous good one.
	To string `json:"to,omitempty"`
	// MarkBad (rollback) says the release this rollback leaves is bad,
	// and why: a fleet rollback sets it, so that the release that failed
	// elsewhere is never offered again as one to go back to.
	MarkBad string `json:"mark_bad,omitempty"`
	// Hooks are the commands a deploy runs on the server at its points
	// (apply only).
	Hooks *Hooks `json:"hooks,omitempty"`
	// Command is what op exec runs: an argument vector, never a shell
	// string; python, flask, alembic… are the serving release's venv's.
	Command []string `json:"command,omitempty"`
	// CommandTimeout bounds op exec's command; zero leaves it to the
	// operation's own bound (SSM's execution timeout, or Ctrl-C).
	CommandTimeout time.Duration `json:"command_timeout,omitempty"`
	// Sealed points at the part of the spec that must not travel on a
	// command line (see unseal): variables, the pip index URL, the
	// health URL. The agent fetches it first and merges it in.
	Sealed *Sealed `json:"sealed,omitempty"`
}

// Source says where the release's files come from.
type Source struct {
	// Kind is git (a repository URL or path, mirrored into repo.git) or
	// archive (a tar.gz of the app directory at SHA, checked by SHA256).
	Kind   string `json:"kind,omitempty"`
	URL    string `json:"url,omitempty"`
	Subdir string `json:"subdir,omitempty"`
	// Ref is the branch the commit is on (git), fetched when the server
	// refuses the commit by SHA; optional.
	Ref    string `json:"ref,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// HealthSpec is the readiness probe of a release.
type HealthSpec struct {
	URL          string        `json:"url,omitempty"`
	Status       int           `json:"status,omitempty"`
	VersionField string        `json:"version_field,omitempty"`
	Deadline     time.Duration `json:"deadline,omitempty"`
	Interval     time.Duration `json:"interval,omitempty"`
	// Watch keeps probing a deploy's new release this long after it proved
	// healthy; WatchFailures failed probes in a row roll it back (the
	// post-deploy watch). Zero: no watch. Rollbacks are not watched.
	Watch         time.Duration `json:"watch,omitempty"`
	WatchFailures int           `json:"watch_failures,omitempty"`
}

// Encode renders the spec for a command line.
func (s Spec) Encode() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// maxSpec bounds what the agent will decode: a hostile spec must not make
// it allocate without limit.
const maxSpec = 256 << 10

// DecodeSpec parses an encoded spec and validates it.
func DecodeSpec(enc string) (Spec, error) {
	var s Spec
	if len(enc) > maxSpec {
		return s, fmt.Errorf("spec is %d bytes, more than %d", len(enc), maxSpec)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(enc), "="))
	if err != nil {
		return s, fmt.Errorf("spec is not base64url: %w", err)
	}
	return ParseSpec(b)
}

// ParseSpec parses a JSON spec strictly and validates it.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if len(b) > maxSpec {
		return s, fmt.Errorf("spec is %d bytes, more than %d", len(b), maxSpec)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("spec is not valid JSON: %w", err)
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

var (
	hexSHA   = shape{first: lowerHex, rest: lowerHex, min: 40, max: 64, lens: []int{40, 64}}           // ^([0-9a-f]{40}|[0-9a-f]{64})$
	hex64    = shape{first: lowerHex, rest: lowerHex, min: 64, max: 64}                                // ^[0-9a-f]{64}$
	nameRe   = shape{first: alnum, rest: newClass("A-Za-z0-9_.-"), min: 1, max: 63}                    // ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$
	varRe    = shape{first: varFirst, rest: varRest, min: 1, max: 128}                                 // ^[A-Za-z_][A-Za-z0-9_]{0,127}$
	toRe     = shape{first: alnum, rest: newClass("0-9A-Za-z-"), min: 4, max: 80}                      // ^[0-9A-Za-z][0-9A-Za-z-]{3,79}$
	branchRe = shape{first: newClass("A-Za-z0-9_"), rest: newClass("A-Za-z0-9_./-"), min: 1, max: 255} // ^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}$
	maxValue = 4096
)

// Validate checks every field, because the spec may be hand-made or
// hostile: values reach git, pip and the file system.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Protocol != Protocol {
		bad("protocol %d is not supported (this agent speaks %d)", s.Protocol, Protocol)
	}
	switch s.Op {
	case OpApply, OpRollback, OpStatus, OpReleases, OpUnlock, OpRepair, OpDoctor, OpExec:
	default:
		bad("op %q is not one of apply, rollback, status, releases, unlock, repair, doctor, exec", s.Op)
	}
	if err := checkRoot(s.Root); err != nil {
		bad("root: %v", err)
	}
	if !nameRe.MatchString(s.App) {
		bad("app %q is not a valid name", s.App)
	}
	if s.Environment != "" && !nameRe.MatchString(s.Environment) {
		bad("environment %q is not a valid name", s.Environment)
	}
	for name, v := range map[string]string{"deployer": s.Deployer, "run_url": s.RunURL} {
		if err := plain(v, 512); err != nil {
			bad("%s: %v", name, err)
		}
	}
	if s.RunURL != "" {
		if err := checkURL(s.RunURL, "http", "https"); err != nil {
			bad("run_url: %v", err)
		}
	}
	if s.RunAs != "" && s.RunAs != RunProcess && s.RunAs != RunService {
		bad("run_as %q is not process or service", s.RunAs)
	}
	if err := plain(s.MarkBad, 512); err != nil {
		bad("mark_bad: %v", err)
	}
	if s.MarkBad != "" && s.Op != OpRollback {
		bad("mark_bad is for op rollback only")
	}
	if s.Sealed != nil {
		if s.Op != OpApply && s.Op != OpRollback {
			bad("sealed is for apply and rollback only")
		}
		if err := checkSealedURL(s.Sealed.URL); err != nil {
			bad("sealed.url: %v", err)
		}
		if !hex64.MatchString(s.Sealed.SHA256) {
			bad("sealed.sha256 must be 64 lowercase hex digits")
		}
	}
	if s.To != "" && !toRe.MatchString(s.To) {
		bad("to %q is not a SHA prefix or release ID", s.To)
	}
	if s.LockWait < 0 || s.LockWait > 24*time.Hour || s.LockTTL < 0 || s.LockTTL > 7*24*time.Hour {
		bad("lock_wait or lock_ttl out of range")
	}
	if s.Op == OpApply {
		errs = append(errs, s.validateApply()...)
	}
	if s.Hooks != nil {
		if s.Op != OpApply {
			bad("hooks are for op apply only")
		}
		errs = append(errs, s.Hooks.validate()...)
	}
	switch {
	case s.Op == OpExec:
		if err := checkArgv(s.Command); err != nil {
			bad("command: %v", err)
		}
		if s.CommandTimeout < 0 || s.CommandTimeout > 48*time.Hour {
			bad("command_timeout out of range")
		}
	case len(s.Command) > 0 || s.CommandTimeout != 0:
		bad("command is for op exec only")
	}
	if s.Op == OpApply || s.Op == OpRollback {
		errs = append(errs, s.validateRun()...)
	}
	return errors.Join(errs...)
}

func (s Spec) validateApply() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !hexSHA.MatchString(s.SHA) {
		bad("sha %q is not a full commit SHA (40 or 64 lowercase hex digits)", s.SHA)
	}
	switch s.Source.Kind {
	case "git":
		if err := checkGitURL(s.Source.URL); err != nil {
			bad("source.url: %v", err)
		}
	case "archive":
		if err := checkURL(s.Source.URL, "http", "https", "file"); err != nil {
			bad("source.url: %v", err)
		}
		if !hex64.MatchString(s.Source.SHA256) {
			bad("source.sha256 must be 64 lowercase hex digits")
		}
	default:
		bad("source.kind %q is not git or archive", s.Source.Kind)
	}
	if s.Source.Ref != "" && !branchRe.MatchString(s.Source.Ref) || strings.Contains(s.Source.Ref, "..") || strings.HasSuffix(s.Source.Ref, ".lock") || strings.Contains(s.Source.Ref, "//") {
		bad("source.ref %q is not a branch name", truncate(s.Source.Ref, 60))
	}
	if s.Source.Subdir != "" && s.Source.Subdir != "." {
		if err := relInside(s.Source.Subdir); err != nil {
			bad("source.subdir: %v", err)
		}
	}
	switch s.Runtime {
	case "", RuntimePython, RuntimeNode, RuntimeNone:
	default:
		bad("runtime %q is not python, node or none", truncate(s.Runtime, 40))
	}
	if err := plain(s.Python, 1024); err != nil || (s.Python == "" && s.runtime() == RuntimePython) || strings.HasPrefix(s.Python, "-") {
		bad("python %q is not an interpreter name or path", s.Python)
	}
	if err := relInside(s.Requirements); err != nil {
		bad("requirements: %v", err)
	}
	if s.Pip.IndexURL != "" {
		if err := checkURL(s.Pip.IndexURL, "http", "https"); err != nil {
			bad("pip.index_url: %v", err)
		}
	}
	for _, f := range s.Pip.FindLinks {
		if err := plain(f, 1024); err != nil || f == "" || strings.HasPrefix(f, "-") {
			bad("pip.find_links entry %q is not a path or URL", f)
		}
	}
	return errs
}

func (s Spec) validateRun() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(s.Start) == 0 || len(s.Start) > 64 {
		bad("start must have 1 to 64 words")
	}
	for _, w := range s.Start {
		if err := plain(w, maxValue); err != nil {
			bad("start: %v", err)
		}
	}
	if len(s.Start) > 0 && strings.HasPrefix(s.Start[0], "-") {
		bad("start: the program %q must not start with '-'", s.Start[0])
	}
	if len(s.Vars) > 256 {
		bad("env has %d variables, more than 256", len(s.Vars))
	}
	for k, v := range s.Vars {
		if !varRe.MatchString(k) {
			bad("env: %q is not a variable name", k)
		}
		// The value may be a secret: the error does not quote it.
		if err := plain(v, maxValue); err != nil {
			bad("env %s: its value holds a control character, is not UTF-8 or is over %d bytes", k, maxValue)
		}
	}
	if s.EnvFile != "" {
		if err := relInside(s.EnvFile); err != nil {
			bad("env_file: %v", err)
		}
	}
	if len(s.Shared) > 64 {
		bad("shared lists more than 64 paths")
	}
	for _, p := range s.Shared {
		if err := relInside(p); err != nil {
			bad("shared: %v", err)
		}
	}
	// A sealed spec may carry its health URL (with its credentials) in
	// the sealed part only: checked once that is merged (see unseal).
	if s.Sealed == nil || s.Health.URL != "" {
		if err := checkURL(withoutHealthVars(s.Health.URL), "http", "https"); err != nil {
			bad("health.url: %v", err)
		}
	}
	if s.Health.Status < 100 || s.Health.Status > 599 {
		bad("health.status %d is not an HTTP status", s.Health.Status)
	}
	if s.Health.VersionField != "" && !varRe.MatchString(s.Health.VersionField) {
		bad("health.version_field %q is not a field name", s.Health.VersionField)
	}
	if s.Health.Deadline <= 0 || s.Health.Deadline > time.Hour || s.Health.Interval < 0 {
		bad("health.deadline must be between 0 and 1h")
	}
	if s.Health.Watch < 0 || s.Health.Watch > 24*time.Hour || s.Health.WatchFailures < 0 || s.Health.WatchFailures > 1000 {
		bad("health.watch must be between 0 and 24h, watch_failures between 0 and 1000")
	}
	if s.StopTimeout < 0 || s.StopTimeout > time.Hour {
		bad("stop_timeout out of range")
	}
	if s.KeepReleases < 0 || s.KeepReleases > 100 || s.KeepFailed < 0 || s.KeepFailed > 100 {
		bad("keep_releases and keep_failed must be between 0 and 100")
	}
	return errs
}

// plain refuses control characters (newlines above all) and over-long
// values: nothing in a spec legitimately carries them.
func plain(v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("value is %d bytes, more than %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return errors.New("value is not UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("value %q holds a control character", truncate(v, 40))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func checkRoot(root string) error {
	if err := plain(root, 1024); err != nil {
		return err
	}
	if rest, ok := homeRelative(root); ok {
		if err := relInside(rest); err != nil {
			return fmt.Errorf("%q: %v", root, err)
		}
		return nil
	}
	if uncLike(root) {
		return fmt.Errorf("%q is a network, device or \\\\?\\ path: give a local absolute path such as C:\\Apps\\Billing or /srv/billing", root)
	}
	if !isAbs(root) {
		return fmt.Errorf("%q must be an absolute path (or start with ~/)", root)
	}
	for _, part := range splitPath(root) {
		if part == ".." {
			return fmt.Errorf("%q must not contain '..'", root)
		}
		if err := portablePart(part); err != nil {
			return fmt.Errorf("%q: %v", root, err)
		}
	}
	if len(splitPath(root)) < 1 {
		return fmt.Errorf("%q must not be a filesystem root", root)
	}
	return nil
}

// homeRelative reports whether root is written "~/rest" (or "~\rest"):
// relative to the home directory of the account the agent runs as.
func homeRelative(root string) (string, bool) {
	if strings.HasPrefix(root, "~/") || strings.HasPrefix(root, `~\`) {
		return root[2:], true
	}
	return "", false
}

// ResolveRoot turns a "~/" root into an absolute path on this machine.
func ResolveRoot(root string) (string, error) {
	rest, ok := homeRelative(root)
	if !ok {
		// Validate accepts both platforms' absolute forms; here this
		// machine's rules apply: on Windows "/srv/x" is relative to the
		// current drive, on Linux "C:\x" is a relative name.
		if !filepath.IsAbs(filepath.Clean(root)) {
			return "", fmt.Errorf("root %s is not an absolute path on %s", root, runtime.GOOS)
		}
		return filepath.Clean(root), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", root, err)
	}
	return filepath.Join(home, filepath.FromSlash(rest)), nil
}

// isAbs accepts both platforms' absolute forms so a spec can be checked on
// either side; the agent later uses it with its own platform's rules.
func isAbs(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') && ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'))
}

// uncLike reports a path that starts with two separators: a UNC share
// (\\server\share, //server/share) or a Win32 device or verbatim path
// (\\.\, \\?\), none of which is a local deployment root.
func uncLike(p string) bool {
	sep := func(c byte) bool { return c == '/' || c == '\\' }
	return len(p) >= 2 && sep(p[0]) && sep(p[1])
}

// portablePart refuses a path component that Windows would read otherwise
// than it is written: a reserved device name (CON, NUL, COM1, also with an
// extension: "nul.txt" is the device), a trailing dot or space (Windows
// drops them, so ".. " climbs like ".."), or a character Windows forbids
// in names or uses for streams (":"). A spec may target either platform,
// so the rule holds on both.
func portablePart(part string) error {
	if part == "." {
		return nil
	}
	if strings.HasSuffix(part, ".") || strings.HasSuffix(part, " ") {
		return fmt.Errorf("component %q ends with a dot or a space, which Windows drops", part)
	}
	if strings.ContainsAny(part, `<>"|?*:`) {
		return fmt.Errorf("component %q holds a character Windows forbids in names (one of < > \" | ? * :)", part)
	}
	base, _, _ := strings.Cut(part, ".")
	switch strings.ToUpper(strings.TrimRight(base, " ")) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³":
		return fmt.Errorf("component %q is a Windows device name", part)
	}
	return nil
}

func splitPath(p string) []string {
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' })
}

// relInside accepts a relative path that stays inside its base.
func relInside(p string) error {
	if err := plain(p, 1024); err != nil {
		return err
	}
	if p == "" {
		return errors.New("is empty")
	}
	if isAbs(p) || strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "/") || strings.Contains(p, ":") {
		return fmt.Errorf("%q must be a relative path", p)
	}
	if strings.HasPrefix(p, "-") {
		return fmt.Errorf("%q must not start with '-'", p)
	}
	for _, part := range splitPath(p) {
		if part == ".." {
			return fmt.Errorf("%q leaves its directory", p)
		}
		if err := portablePart(part); err != nil {
			return fmt.Errorf("%q: %v", p, err)
		}
	}
	if filepath.Clean(p) == "." {
		return fmt.Errorf("%q names the directory itself", p)
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	// Presigned S3 URLs made with session credentials carry a long token.
	if err := plain(raw, 8192); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", truncate(raw, 60))
	}
	for _, s := range schemes {
		if u.Scheme != s {
			continue
		}
		if s == "file" {
			// file:///C:/x or file:///srv/x only: a host would be a UNC
			// share on Windows (or, as in file://C:/x, silently dropped).
			if u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") {
				return fmt.Errorf("%q is not a local file URL (file:///C:/path or file:///path)", truncate(raw, 60))
			}
			return nil
		}
		if u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%q is not a %s URL", truncate(raw, 60), strings.Join(schemes, "/"))
}

// checkGitURL accepts what git clones from safely: an absolute path or an
// http(s), ssh or file URL. A leading '-' would be read by git as an
// option, and ext:: runs commands.
func checkGitURL(raw string) error {
	if err := plain(raw, 2048); err != nil {
		return err
	}
	if strings.HasPrefix(raw, "-") {
		return fmt.Errorf("%q must not start with '-'", raw)
	}
	if isAbs(raw) {
		for _, part := range splitPath(raw) {
			if part == ".." {
				return fmt.Errorf("%q must not contain '..'", raw)
			}
		}
		return nil
	}
	return checkURL(raw, "https", "http", "ssh", "file")
}
