package agent_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
)

// TestHostileSpecs feeds the agent binary hand-made specs with bad or
// hostile fields: each must be refused with exit 2 and leave the root
// untouched (not even created).
func TestHostileSpecs(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "srv")
	good := agent.Spec{
		Protocol: agent.Protocol, Op: "apply", Root: root, App: "app", Environment: "prod", SHA: strings.Repeat("a", 40),
		Source: agent.Source{Kind: "git", URL: "/repo"}, Start: []string{"python", "app.py"}, Python: "python3",
		Requirements: "requirements.txt", Health: agent.HealthSpec{URL: "http://127.0.0.1:8000/health", Status: 200, Deadline: time.Second},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("the baseline spec must be valid: %v", err)
	}
	long := strings.Repeat("x", 5000)
	cases := map[string]func(*agent.Spec){
		"shell metachar in sha":         func(s *agent.Spec) { s.SHA = "$(touch /tmp/pwned)" },
		"short sha":                     func(s *agent.Spec) { s.SHA = "abc123" },
		"uppercase sha":                 func(s *agent.Spec) { s.SHA = strings.Repeat("A", 40) },
		"relative root":                 func(s *agent.Spec) { s.Root = "srv" },
		"root with ..":                  func(s *agent.Spec) { s.Root = base + "/../etc" },
		"root is /":                     func(s *agent.Spec) { s.Root = "/" },
		"root with newline":             func(s *agent.Spec) { s.Root = root + "\nrm -rf /" },
		"requirements escapes":          func(s *agent.Spec) { s.Requirements = "../../etc/passwd" },
		"requirements absolute":         func(s *agent.Spec) { s.Requirements = "/etc/passwd" },
		"requirements leading dash":     func(s *agent.Spec) { s.Requirements = "--index-url=http://evil" },
		"subdir escapes":                func(s *agent.Spec) { s.Source.Subdir = "../other" },
		"git url option injection":      func(s *agent.Spec) { s.Source.URL = "--upload-pack=touch /tmp/pwned" },
		"git ext transport":             func(s *agent.Spec) { s.Source.URL = "ext::sh -c touch% /tmp/pwned" },
		"unknown source kind":           func(s *agent.Spec) { s.Source.Kind = "rsync" },
		"archive without hash":          func(s *agent.Spec) { s.Source = agent.Source{Kind: "archive", URL: "https://example.com/a.tgz"} },
		"shared escapes":                func(s *agent.Spec) { s.Shared = []string{"../../home"} },
		"env file escapes":              func(s *agent.Spec) { s.EnvFile = "../../../root/.ssh/id_rsa" },
		"env name with =":               func(s *agent.Spec) { s.Vars = map[string]string{"A=B": "x"} },
		"env value newline":             func(s *agent.Spec) { s.Vars = map[string]string{"A": "x\ny"} },
		"start program leading dash":    func(s *agent.Spec) { s.Start = []string{"-c", "x"} },
		"unknown runtime":               func(s *agent.Spec) { s.Runtime = "ruby" },
		"python runtime without python": func(s *agent.Spec) { s.Python = "" },
		"start empty":                   func(s *agent.Spec) { s.Start = nil },
		"over-long start word":          func(s *agent.Spec) { s.Start = []string{"python", long} },
		"python leading dash":           func(s *agent.Spec) { s.Python = "-c" },
		"health url javascript":         func(s *agent.Spec) { s.Health.URL = "javascript:alert(1)" },
		"health status 0":               func(s *agent.Spec) { s.Health.Status = 0 },
		"app name with slash":           func(s *agent.Spec) { s.App = "../app" },
		"environment with space":        func(s *agent.Spec) { s.Environment = "prod; rm" },
		"protocol from the future":      func(s *agent.Spec) { s.Protocol = 99 },
		"unknown op":                    func(s *agent.Spec) { s.Op = "destroy" },
		"deployer control chars":        func(s *agent.Spec) { s.Deployer = "eve\x1b[2J" },
		"find links leading dash":       func(s *agent.Spec) { s.Pip.FindLinks = []string{"--trusted-host=evil"} },
		"rollback to with slash":        func(s *agent.Spec) { s.To = "../../x" },
		// Windows forms, refused on Linux as on Windows (agent_wine_test.go).
		"root is a UNC share":      func(s *agent.Spec) { s.Root = `\\server\share\app` },
		"root is //host/share":     func(s *agent.Spec) { s.Root = "//server/share/app" },
		"root is drive-relative":   func(s *agent.Spec) { s.Root = `D:app` },
		"root is a Windows path":   func(s *agent.Spec) { s.Root = `C:\Apps\Billing` }, // not absolute on Linux
		"root holds a device name": func(s *agent.Spec) { s.Root = root + "/nul.txt/x" },
		"root dotdot with a space": func(s *agent.Spec) { s.Root = root + "/.. /etc" },
		"archive URL with a host": func(s *agent.Spec) {
			s.Source = agent.Source{Kind: "archive", URL: "file://server/a.tgz", SHA256: strings.Repeat("a", 64)}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := good
			s.Vars = nil
			mutate(&s)
			op := s.Op
			if op == "destroy" {
				op = "apply"
			}
			b, _ := json.Marshal(s)
			r := runAgentArgs(t, []string{op, "--spec-b64", base64.RawURLEncoding.EncodeToString(b)})
			if r.code != 2 || r.result == nil || r.result.Outcome != "invalid" {
				t.Fatalf("want exit 2 invalid, got %s", r)
			}
			if _, err := os.Stat(root); !os.IsNotExist(err) {
				t.Fatal("a refused spec created the root")
			}
		})
	}
	// Malformed encodings and unknown fields.
	for name, arg := range map[string]string{
		"not base64":    "!!!not-base64!!!",
		"not json":      base64.RawURLEncoding.EncodeToString([]byte("{nope")),
		"unknown field": base64.RawURLEncoding.EncodeToString([]byte(`{"protocol":1,"op":"apply","sneaky":true}`)),
	} {
		t.Run(name, func(t *testing.T) {
			r := runAgentArgs(t, []string{"apply", "--spec-b64", arg})
			if r.code != 2 || r.result == nil || r.result.Error == "" {
				t.Fatalf("want exit 2 with an error, got %s", r)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := filepath.Join(base, "big.json")
		os.WriteFile(big, []byte(`{"protocol":1,"op":"apply","deployer":"`+strings.Repeat("A", 300<<10)+`"}`), 0o644)
		r := runAgentArgs(t, []string{"apply", "--spec-file", big})
		if r.code != 2 || r.result == nil || !strings.Contains(r.result.Error, "more than") {
			t.Fatalf("want exit 2 refusing the size, got %s", r)
		}
	})
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Fatal("a hostile spec ran a command")
	}
}

// FuzzDecodeSpec: no input makes the decoder panic, and whatever it
// accepts is valid.
func FuzzDecodeSpec(f *testing.F) {
	s := agent.Spec{Protocol: 1, Op: "status", Root: "/srv/app", App: "app"}
	enc, _ := s.Encode()
	f.Add(enc)
	f.Add("e30")
	f.Fuzz(func(t *testing.T, in string) {
		spec, err := agent.DecodeSpec(in)
		if err == nil {
			if verr := spec.Validate(); verr != nil {
				t.Fatalf("accepted an invalid spec: %v", verr)
			}
		}
	})
}

// TestSealedSpecMayLeaveItsHealthURLToTheSealedPart: the ssm transport
// keeps a health URL with credentials off the command line, so a sealed
// spec validates without one; an unsealed spec does not.
func TestSealedSpecMayLeaveItsHealthURLToTheSealedPart(t *testing.T) {
	s := agent.Spec{
		Protocol: agent.Protocol, Op: "apply", Root: "/srv/app", App: "app", Environment: "prod", SHA: strings.Repeat("a", 40),
		Source: agent.Source{Kind: "git", URL: "/repo"}, Start: []string{"python", "app.py"}, Python: "python3",
		Requirements: "requirements.txt", Health: agent.HealthSpec{Status: 200, Deadline: time.Second},
	}
	if err := s.Validate(); err == nil {
		t.Fatal("a spec without a health URL and nothing sealed must be refused")
	}
	s.Sealed = &agent.Sealed{URL: "https://bucket.example/sealed.json?X-Amz-Signature=abc", SHA256: strings.Repeat("a", 64)}
	if err := s.Validate(); err != nil {
		t.Fatalf("a sealed spec may leave the health URL to its sealed part: %v", err)
	}
	s.Sealed.URL = "http://bucket.example/sealed.json"
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("a sealed part over plain http off this machine must be refused: %v", err)
	}
	s.Sealed.URL = "http://127.0.0.1:9000/sealed.json"
	if err := s.Validate(); err != nil {
		t.Fatalf("plain http to loopback (the sandbox's S3): %v", err)
	}
}
