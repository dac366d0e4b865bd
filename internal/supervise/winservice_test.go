package supervise

import (
	"strings"
	"testing"
	"time"
)

// commandLineToArgv reads a command line as CommandLineToArgvW does (the
// documented rules, written independently of windowsCommandLine): the
// program up to the next white space, or between quotes taken literally;
// then words where 2n backslashes before a quote are n backslashes and a
// quote that toggles quoting, 2n+1 are n and a literal quote, and other
// backslashes are literal.
func commandLineToArgv(s string) []string {
	var args []string
	i := 0
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		args = append(args, s[1:1+end])
		i = end + 2
	} else {
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			return []string{s}
		}
		args = append(args, s[:end])
		i = end
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return args
		}
		var w strings.Builder
		quoted := false
		for i < len(s) && (quoted || (s[i] != ' ' && s[i] != '\t')) {
			switch {
			case s[i] == '\\':
				n := 0
				for i < len(s) && s[i] == '\\' {
					n++
					i++
				}
				if i < len(s) && s[i] == '"' {
					w.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						w.WriteByte('"')
						i++
					}
				} else {
					w.WriteString(strings.Repeat(`\`, n))
				}
			case s[i] == '"':
				if quoted && i+1 < len(s) && s[i+1] == '"' {
					w.WriteByte('"') // "" inside quotes: a literal quote
					i += 2
					continue
				}
				quoted = !quoted
				i++
			default:
				w.WriteByte(s[i])
				i++
			}
		}
		args = append(args, w.String())
	}
}

func TestWindowsCommandLineRoundTrip(t *testing.T) {
	cases := [][]string{
		{`C:\Apps\Billing\bin\ferry-agent-0123456789ab.exe`, "service", "run", "--root", `C:\Apps\Billing`},
		{`C:\Program Files\ferry\ferry-agent.exe`, "--root", `D:\Apps\Billing Prod`, "--name", "ferry-billing-prod"},
		{`C:\x.exe`, `ends\`, `ends with space\ `, `C:\dir with space\`, `quote"inside`, `"`, ``, `a\\"b`, "tab\there", `\\server\share`},
	}
	for _, argv := range cases {
		line := windowsCommandLine(argv)
		if !strings.HasPrefix(line, `"`+argv[0]+`"`) {
			t.Errorf("the program must be quoted: %s", line)
		}
		got := commandLineToArgv(line)
		if strings.Join(got, "\x00") != strings.Join(argv, "\x00") {
			t.Errorf("%s\nreads back as %q\nwant        %q", line, got, argv)
		}
	}
	if got := windowsCommandLine([]string{`C:\a b\x.exe`, "run", `D:\Apps\Billing Prod`}); got != `"C:\a b\x.exe" run "D:\Apps\Billing Prod"` {
		t.Errorf("plain case: %s", got)
	}
}

// The service's configuration is what the service manager is told; Wine
// stores only part of it (it ignores recovery actions), so the values are
// pinned here.
func TestWindowsServiceConfig(t *testing.T) {
	bin := `D:\Apps\Billing Prod\bin\ferry-agent-0123456789ab.exe`
	target := func(app, env, root string) Target {
		return Target{App: app, Environment: env, Root: root, Service: ServiceName(app, env)}
	}
	c := target("billing", "prod", `D:\Apps\Billing Prod`).windowsService(bin, 7*time.Second)
	if c.Name != "ferry-billing-prod" || c.DisplayName != "ferry billing (prod)" || !strings.Contains(c.Description, `D:\Apps\Billing Prod`) {
		t.Fatalf("names: %+v", c)
	}
	want := []string{bin, "service", "run", "--root", `D:\Apps\Billing Prod`, "--name", "ferry-billing-prod", "--environment", "prod"}
	if got := commandLineToArgv(c.CommandLine); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("command line %s reads as %q", c.CommandLine, got)
	}
	if c.StartType != 2 || c.ErrorControl != 1 || c.Account != "" {
		t.Fatalf("start type %d (want SERVICE_AUTO_START=2), error control %d (want SERVICE_ERROR_NORMAL=1), account %q (want LocalSystem)", c.StartType, c.ErrorControl, c.Account)
	}
	if len(c.Recovery) != 3 {
		t.Fatalf("recovery: %+v", c.Recovery)
	}
	prev := time.Duration(0)
	for i, a := range c.Recovery {
		if a.Type != 1 || a.Delay <= prev {
			t.Fatalf("action %d: %+v: want SC_ACTION_RESTART with growing delays", i, a)
		}
		prev = a.Delay
	}
	if c.ResetPeriod != 24*time.Hour || !c.RecoverOnErrorExit {
		t.Fatalf("reset period %s, recover on error exit %v", c.ResetPeriod, c.RecoverOnErrorExit)
	}
	if c.StopWait <= 7*time.Second {
		t.Fatalf("stop wait %s must exceed the app's stop timeout", c.StopWait)
	}
	if c := target("billing", "", `C:\b`).windowsService(`C:\b\bin\a.exe`, 0); c.Name != "ferry-billing" || !strings.HasSuffix(c.CommandLine, `--environment ""`) {
		t.Fatalf("no environment: %+v", c)
	}
	if got := agentBinaryName("0123456789abcdef" + strings.Repeat("0", 48)); got != "ferry-agent-0123456789ab.exe" {
		t.Fatalf("binary name %s", got)
	}
}
