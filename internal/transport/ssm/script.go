package ssm

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/text"
)

//go:embed scripts/*.tmpl
var scriptFS embed.FS

var scriptTemplates = template.Must(template.New("scripts").Option("missingkey=error").ParseFS(scriptFS, "scripts/*.tmpl"))

// Platforms as DescribeInstanceInformation names them.
const (
	PlatformLinux   = "Linux"
	PlatformWindows = "Windows"
)

// AgentBinary is one uploaded ferry-agent: its digest and where a server
// downloads it without S3 permissions.
type AgentBinary struct {
	SHA256 string
	URL    string
}

// scriptInput is everything a rendered script contains. Nothing else, and
// in particular nothing from a branch name, a commit message or the
// configuration, ever reaches the script text: those travel inside the
// base64url spec.
type scriptInput struct {
	Op    string
	Spec  string
	AMD64 AgentBinary
	ARM64 AgentBinary
}

var (
	specChars = text.Pattern(`^[A-Za-z0-9_-]+$`)
	// urlChars is what a presigned S3 URL is made of: no quote, no dollar,
	// no backtick, no space, no semicolon, nothing a shell or PowerShell
	// string could treat specially.
	urlChars = text.Pattern(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~/%=&?+-]*$`)
	ops      = map[string]bool{agent.OpApply: true, agent.OpRollback: true, agent.OpStatus: true, agent.OpReleases: true, agent.OpUnlock: true, opRepair: true, agent.OpDoctor: true, agent.OpExec: true}
)

// opRepair is the agent's repair operation (agent.OpRepair once the
// agent's side of the hardening has landed).
const opRepair = "repair"

// maxSpecChars bounds the spec like the agent does (256 KiB).
const maxSpecChars = 256 << 10

// check fails closed: a value outside its character class is refused, not
// escaped, because a script that needs escaping was built from something
// that should never have been there.
func (in scriptInput) check() error {
	var errs []error
	if !ops[in.Op] {
		errs = append(errs, fmt.Errorf("operation %q is not one the agent knows", in.Op))
	}
	if len(in.Spec) > maxSpecChars || !specChars().MatchString(in.Spec) {
		errs = append(errs, errors.New("the spec is not base64url text of at most 256 KiB"))
	}
	for arch, b := range map[string]AgentBinary{"amd64": in.AMD64, "arm64": in.ARM64} {
		if !hex64().MatchString(b.SHA256) {
			errs = append(errs, fmt.Errorf("the %s agent digest %q is not 64 lowercase hex digits", arch, b.SHA256))
		}
		if len(b.URL) > 8192 || !urlChars().MatchString(b.URL) {
			errs = append(errs, fmt.Errorf("the %s agent URL holds characters a presigned URL never has", arch))
		}
	}
	return errors.Join(errs...)
}

var hex64 = text.Pattern(`^[0-9a-f]{64}$`)

// RenderScript returns the commands that fetch, verify and run
// ferry-agent on a server of platform, as the lines of the commands
// parameter of AWS-RunShellScript or AWS-RunPowerShellScript.
func RenderScript(platform, op, spec string, amd64, arm64 AgentBinary) ([]string, error) {
	in := scriptInput{Op: op, Spec: spec, AMD64: amd64, ARM64: arm64}
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("render %s script: %w", platform, err)
	}
	name := map[string]string{PlatformLinux: "linux.sh.tmpl", PlatformWindows: "windows.ps1.tmpl"}[platform]
	if name == "" {
		return nil, fmt.Errorf("render script: platform %q is not Linux or Windows", platform)
	}
	var buf bytes.Buffer
	if err := scriptTemplates.ExecuteTemplate(&buf, name, in); err != nil {
		return nil, fmt.Errorf("render %s script: %w", platform, err)
	}
	return strings.Split(strings.TrimRight(buf.String(), "\n"), "\n"), nil
}
