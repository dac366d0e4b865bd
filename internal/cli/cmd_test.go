package cli

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// The command-line seams, as gh tests them: flags and arguments become
// options through runF, and nothing runs.

// parse runs cmd (with the global flags, as the root gives them) on
// args, and returns the exit code of any error.
func parse(t *testing.T, cmd *cobra.Command, args string) int {
	t.Helper()
	addGlobalFlags(cmd.PersistentFlags())
	cmd.SetFlagErrorFunc(usageFlagError)
	cmd.SetArgs(strings.Fields(args))
	cmd.SetIn(&bytes.Buffer{})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	_, err := cmd.ExecuteC()
	return fail.Code(err)
}

func testFactory() *Factory {
	return &Factory{IO: IO{Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}, WorkDir: "/work"}
}

// caseOf is one row of a Test_NewCmdX table: the command line, the
// options wanted (compared field by field, the factory aside), or the
// exit code of its refusal.
type caseOf[O any] struct {
	name string
	args string
	want O
	code int
}

// checkCmd runs each case through newCmd and compares what runF got.
func checkCmd[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, common func(*O) *Common, cases []caseOf[O]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := testFactory()
			var got *O
			code := parse(t, newCmd(f, func(o *O) error { got = o; return nil }), c.args)
			if code != c.code {
				t.Fatalf("exit %d, want %d", code, c.code)
			}
			if c.code != 0 {
				if got != nil {
					t.Fatal("runF ran for a refused command line")
				}
				return
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			if common(got).Factory != f {
				t.Error("the options do not hold the factory")
			}
			// Compare all but the factory and the context.
			g, w := *got, c.want
			*common(&g) = Common{Globals: common(&g).Globals}
			*common(&w) = Common{Globals: common(&w).Globals}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("options\n got  %+v\n want %+v", g, w)
			}
		})
	}
}

// defaults are the global flags' defaults.
var defaults = Globals{ConfigPath: "ferry.yml"}

func Test_NewCmdDeploy(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdDeploy, func(o *DeployOptions) *Common { return &o.Common }, []caseOf[DeployOptions]{
		{name: "no environment", args: "", want: DeployOptions{Common: Common{Globals: defaults}, Ref: "HEAD"}},
		{name: "environment", args: "production", want: DeployOptions{Common: Common{Globals: defaults}, Env: "production", Ref: "HEAD"}},
		{name: "every flag", args: "staging --ref v1.2 --lock-wait 5m --skip-gates --json --no-color -c deploy/ferry.yml",
			want: DeployOptions{Common: Common{Globals: Globals{ConfigPath: "deploy/ferry.yml", JSON: true, NoColor: true}},
				Env: "staging", Ref: "v1.2", LockWait: 5 * time.Minute, SkipGates: true}},
		{name: "emergency hotfix without the watch", args: "production --emergency --reason checkout-down --hotfix --no-watch",
			want: DeployOptions{Common: Common{Globals: defaults}, Env: "production", Ref: "HEAD", Emergency: true, Reason: "checkout-down", Hotfix: true, NoWatch: true}},
		{name: "emergency without a reason", args: "production --emergency", code: exitcode.Usage},
		{name: "emergency with a blank reason", args: "production --emergency --reason=", code: exitcode.Usage},
		{name: "a reason without an emergency", args: "production --reason because", code: exitcode.Usage},
		{name: "gate reports", args: "--junit gates.xml --sarif gates.sarif",
			want: DeployOptions{Common: Common{Globals: defaults}, Ref: "HEAD", JUnit: "gates.xml", SARIF: "gates.sarif"}},
		{name: "too many arguments", args: "a b", code: exitcode.Usage},
		{name: "unknown flag", args: "--bogus", code: exitcode.Usage},
		{name: "bad duration", args: "--lock-wait soon", code: exitcode.Usage},
		{name: "lock wait longer than the agent takes", args: "--lock-wait 25h", code: exitcode.Usage},
		{name: "negative lock wait", args: "--lock-wait -1s", code: exitcode.Usage},
	})
}

func Test_NewCmdRollback(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdRollback, func(o *RollbackOptions) *Common { return &o.Common }, []caseOf[RollbackOptions]{
		{name: "environment", args: "production", want: RollbackOptions{Common: Common{Globals: defaults}, Env: "production"}},
		{name: "to and lock wait", args: "production --to 1a2b3c --lock-wait 30s --json",
			want: RollbackOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production", To: "1a2b3c", LockWait: 30 * time.Second}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "two environments", args: "a b", code: exitcode.Usage},
		{name: "unknown flag", args: "prod --ref x", code: exitcode.Usage},
		{name: "to the agent refuses", args: "prod --to a;b", code: exitcode.Usage},
		{name: "to too short", args: "prod --to abc", code: exitcode.Usage},
		{name: "lock wait longer than the agent takes", args: "prod --lock-wait 48h", code: exitcode.Usage},
	})
}

func Test_NewCmdStatus(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdStatus, func(o *StatusOptions) *Common { return &o.Common }, []caseOf[StatusOptions]{
		{name: "environment", args: "production", want: StatusOptions{Common: Common{Globals: defaults}, Env: "production"}},
		{name: "json", args: "production --json", want: StatusOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production"}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "unknown flag", args: "production --to x", code: exitcode.Usage},
	})
}

func Test_NewCmdReleases(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdReleases, func(o *ReleasesOptions) *Common { return &o.Common }, []caseOf[ReleasesOptions]{
		{name: "environment", args: "staging -c other.yml", want: ReleasesOptions{Common: Common{Globals: Globals{ConfigPath: "other.yml"}}, Env: "staging"}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "two environments", args: "a b", code: exitcode.Usage},
	})
}

func Test_NewCmdUnlock(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdUnlock, func(o *UnlockOptions) *Common { return &o.Common }, []caseOf[UnlockOptions]{
		{name: "environment", args: "staging --no-color", want: UnlockOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", NoColor: true}}, Env: "staging"}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "unknown flag", args: "staging --force", code: exitcode.Usage},
	})
}

func Test_NewCmdRepair(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdRepair, func(o *RepairOptions) *Common { return &o.Common }, []caseOf[RepairOptions]{
		{name: "environment", args: "production", want: RepairOptions{Common: Common{Globals: defaults}, Env: "production"}},
		{name: "lock wait and json", args: "production --lock-wait 2m --json",
			want: RepairOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production", LockWait: 2 * time.Minute}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "two environments", args: "a b", code: exitcode.Usage},
		{name: "lock wait the agent refuses", args: "production --lock-wait 25h", code: exitcode.Usage},
		{name: "unknown flag", args: "production --force", code: exitcode.Usage},
	})
}

func Test_NewCmdExec(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdExec, func(o *ExecOptions) *Common { return &o.Common }, []caseOf[ExecOptions]{
		{name: "one server", args: "production -- flask --app flaskr init-db",
			want: ExecOptions{Common: Common{Globals: defaults}, Env: "production", Command: []string{"flask", "--app", "flaskr", "init-db"}}},
		{name: "without --", args: "staging python manage.py check",
			want: ExecOptions{Common: Common{Globals: defaults}, Env: "staging", Command: []string{"python", "manage.py", "check"}}},
		{name: "all, timeout and json", args: "--all --timeout 5m --json production -- python -m pip list --json",
			want: ExecOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production", All: true, Timeout: 5 * time.Minute,
				Command: []string{"python", "-m", "pip", "list", "--json"}}},
		{name: "flags after the environment", args: "production --all -- id",
			want: ExecOptions{Common: Common{Globals: defaults}, Env: "production", All: true, Command: []string{"id"}}},
		{name: "no command", args: "production", code: exitcode.Usage},
		{name: "nothing", args: "", code: exitcode.Usage},
		{name: "two words before --", args: "production flask -- routes", code: exitcode.Usage},
		{name: "a command flag before --", args: "production flask --app x", code: exitcode.Usage},
		{name: "negative timeout", args: "--timeout -1s production -- id", code: exitcode.Usage},
	})
}

func Test_NewCmdValidate(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdValidate, func(o *ValidateOptions) *Common { return &o.Common }, []caseOf[ValidateOptions]{
		{name: "the --config file", args: "", want: ValidateOptions{Common: Common{Globals: defaults}}},
		{name: "a file", args: "deploy/ferry.yml --json", want: ValidateOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, File: "deploy/ferry.yml"}},
		{name: "two files", args: "a.yml b.yml", code: exitcode.Usage},
	})
}

func Test_NewCmdSchema(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdSchema, func(o *SchemaOptions) *Common { return &o.Common }, []caseOf[SchemaOptions]{
		{name: "plain", args: "", want: SchemaOptions{Common: Common{Globals: defaults}}},
		{name: "json", args: "--json", want: SchemaOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}}},
		{name: "an argument", args: "ferry.yml", code: exitcode.Usage},
	})
}

func Test_NewCmdCheck(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdCheck, func(o *CheckOptions) *Common { return &o.Common }, []caseOf[CheckOptions]{
		{name: "plain", args: "", want: CheckOptions{Common: Common{Globals: defaults}}},
		{name: "reports and env", args: "--junit gates.xml --sarif gates.sarif --env production",
			want: CheckOptions{Common: Common{Globals: defaults}, JUnit: "gates.xml", SARIF: "gates.sarif", Env: "production"}},
		{name: "an argument", args: "production", code: exitcode.Usage},
		{name: "unknown flag", args: "--skip-gates", code: exitcode.Usage},
	})
}

func Test_NewCmdSandbox(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdSandbox, func(o *SandboxOptions) *Common { return &o.Common }, []caseOf[SandboxOptions]{
		{name: "defaults", args: "", want: SandboxOptions{Common: Common{Globals: defaults}, Instances: 3}},
		{name: "every flag", args: "--instances 7 --port 4566 --dir sb", want: SandboxOptions{Common: Common{Globals: defaults}, Instances: 7, Port: 4566, Dir: "sb"}},
		{name: "not a number", args: "--instances many", code: exitcode.Usage},
		{name: "an argument", args: "now", code: exitcode.Usage},
	})
}

func Test_NewCmdDemo(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdDemo, func(o *DemoOptions) *Common { return &o.Common }, []caseOf[DemoOptions]{
		{name: "defaults", args: "", want: DemoOptions{Common: Common{Globals: defaults}}},
		{name: "every flag", args: "--dir /tmp/demo --keep --json", want: DemoOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Dir: "/tmp/demo", Keep: true}},
		{name: "an argument", args: "again", code: exitcode.Usage},
	})
}

func Test_NewCmdHistory(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdHistory, func(o *HistoryOptions) *Common { return &o.Common }, []caseOf[HistoryOptions]{
		{name: "every environment", args: "", want: HistoryOptions{Common: Common{Globals: defaults}}},
		{name: "every filter", args: "production --since 2w --outcome rolled_back --sha 4e1e --actor octocat --csv",
			want: HistoryOptions{Common: Common{Globals: defaults}, Env: "production", Since: "2w", Outcome: "rolled_back", SHA: "4e1e", Actor: "octocat", CSV: true}},
		{name: "unfinished", args: "--outcome unfinished --json", want: HistoryOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Outcome: "unfinished"}},
		{name: "csv and json", args: "--csv --json", code: exitcode.Usage},
		{name: "unknown outcome", args: "--outcome broken", code: exitcode.Usage},
		{name: "bad since", args: "--since yesterday", code: exitcode.Usage},
		{name: "two environments", args: "a b", code: exitcode.Usage},
	})
}

func Test_NewCmdMetrics(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdMetrics, func(o *MetricsOptions) *Common { return &o.Common }, []caseOf[MetricsOptions]{
		{name: "defaults", args: "", want: MetricsOptions{Common: Common{Globals: defaults}, Since: "30d"}},
		{name: "environment and window", args: "production --since 2026-01-01 --json",
			want: MetricsOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production", Since: "2026-01-01"}},
		{name: "bad since", args: "--since 30 days", code: exitcode.Usage},
		{name: "unknown flag", args: "--outcome failed", code: exitcode.Usage},
	})
}

func Test_NewCmdAuditVerify(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdAuditVerify, func(o *AuditVerifyOptions) *Common { return &o.Common }, []caseOf[AuditVerifyOptions]{
		{name: "every environment", args: "", want: AuditVerifyOptions{Common: Common{Globals: defaults}}},
		{name: "environment", args: "production --json", want: AuditVerifyOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production"}},
		{name: "two environments", args: "a b", code: exitcode.Usage},
	})
}

func Test_NewCmdDashboard(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdDashboard, func(o *DashboardOptions) *Common { return &o.Common }, []caseOf[DashboardOptions]{
		{name: "defaults", args: "", want: DashboardOptions{Common: Common{Globals: defaults}, Addr: "127.0.0.1:8765"}},
		{name: "any free port", args: "--addr 127.0.0.1:0", want: DashboardOptions{Common: Common{Globals: defaults}, Addr: "127.0.0.1:0"}},
		{name: "ipv6 loopback", args: "--addr [::1]:9000", want: DashboardOptions{Common: Common{Globals: defaults}, Addr: "[::1]:9000"}},
		{name: "every interface", args: "--addr 0.0.0.0:8765", code: exitcode.Usage},
		{name: "no port", args: "--addr 127.0.0.1", code: exitcode.Usage},
		{name: "an argument", args: "production", code: exitcode.Usage},
	})
}

func Test_NewCmdReport(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdReport, func(o *ReportOptions) *Common { return &o.Common }, []caseOf[ReportOptions]{
		{name: "html", args: "--html out/deployments.html", want: ReportOptions{Common: Common{Globals: defaults}, HTML: "out/deployments.html"}},
		{name: "no file", args: "", code: exitcode.Usage},
		{name: "an argument", args: "--html x.html production", code: exitcode.Usage},
	})
}

func Test_NewCmdWindows(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdWindows, func(o *WindowsOptions) *Common { return &o.Common }, []caseOf[WindowsOptions]{
		{name: "environment", args: "production", want: WindowsOptions{Common: Common{Globals: defaults}, Env: "production", Next: 5}},
		{name: "next", args: "production --next 10 --json", want: WindowsOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production", Next: 10}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "next out of range", args: "production --next 0", code: exitcode.Usage},
	})
}

func Test_NewCmdVersion(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdVersion, func(o *VersionOptions) *Common { return &o.Common }, []caseOf[VersionOptions]{
		{name: "plain", args: "", want: VersionOptions{Common: Common{Globals: defaults}}},
		{name: "json", args: "--json", want: VersionOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}}},
		{name: "an argument", args: "now", code: exitcode.Usage},
	})
}

func Test_NewCmdInit(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdInit, func(o *InitOptions) *Common { return &o.Common }, []caseOf[InitOptions]{
		{name: "defaults", args: "", want: InitOptions{Common: Common{Globals: defaults}}},
		{name: "a new ferry.yml's target", args: "--region eu-west-1 --bucket acme-deploy --tags Role=web,Env=prod --root C:/Apps/Web --platform windows",
			want: InitOptions{Common: Common{Globals: defaults}, Region: "eu-west-1", Bucket: "acme-deploy", Tags: map[string]string{"Role": "web", "Env": "prod"}, Root: "C:/Apps/Web", Platform: "windows"}},
		{name: "instances and github", args: "--instance-ids i-0a,i-0b --github --repo acme/web --reviewers alice,acme/ops --wait-timer 10 --dry-run --force --ferry-version 1.2.3 --ferry-download-url https://mirror.example.com/ferry",
			want: InitOptions{Common: Common{Globals: defaults}, InstanceIDs: []string{"i-0a", "i-0b"}, GitHub: true, Repo: "acme/web", Reviewers: []string{"alice", "acme/ops"}, WaitTimer: 10,
				DryRun: true, Force: true, FerryVersion: "1.2.3", FerryDownloadURL: "https://mirror.example.com/ferry"}},
		{name: "check", args: "--check --json", want: InitOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Check: true}},
		{name: "tags and instance ids", args: "--tags Role=web --instance-ids i-0a", code: exitcode.Usage},
		{name: "a tag without a value", args: "--tags Role", code: exitcode.Usage},
		{name: "another platform", args: "--platform macos", code: exitcode.Usage},
		{name: "check and force", args: "--check --force", code: exitcode.Usage},
		{name: "an argument", args: "here", code: exitcode.Usage},
	})
}

func Test_NewCmdLint(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdLint, func(o *LintOptions) *Common { return &o.Common }, []caseOf[LintOptions]{
		{name: "the workflows directory", args: "", want: LintOptions{Common: Common{Globals: defaults}, Paths: []string{}}},
		{name: "paths", args: "a.yml .github/workflows", want: LintOptions{Common: Common{Globals: defaults}, Paths: []string{"a.yml", ".github/workflows"}}},
		{name: "unknown flag", args: "--fix", code: exitcode.Usage},
	})
}

func Test_NewCmdIAM(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdIAM, func(o *IAMOptions) *Common { return &o.Common }, []caseOf[IAMOptions]{
		{name: "environment", args: "production", want: IAMOptions{Common: Common{Globals: defaults}, Env: "production", Format: "json"}},
		{name: "every flag", args: "production --format cloudformation --account 123456789012 --repo acme/web",
			want: IAMOptions{Common: Common{Globals: defaults}, Env: "production", Format: "cloudformation", Account: "123456789012", Repo: "acme/web"}},
		{name: "another format", args: "production --format terraform", code: exitcode.Usage},
		{name: "no environment", args: "", code: exitcode.Usage},
	})
}

func Test_NewCmdDoctor(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdDoctor, func(o *DoctorOptions) *Common { return &o.Common }, []caseOf[DoctorOptions]{
		{name: "environment", args: "production --json", want: DoctorOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Env: "production"}},
		{name: "no environment", args: "", code: exitcode.Usage},
		{name: "two environments", args: "a b", code: exitcode.Usage},
	})
}

func Test_NewCmdWheelhouse(t *testing.T) {
	t.Parallel()
	checkCmd(t, NewCmdWheelhouse, func(o *WheelhouseOptions) *Common { return &o.Common }, []caseOf[WheelhouseOptions]{
		{name: "defaults", args: "", want: WheelhouseOptions{Common: Common{Globals: defaults}, Python: "python3"}},
		{name: "every flag", args: "--dir vendor/wheels --python python3.11 --find-links a --find-links https://x.example/w --index-url https://pypi.example/simple --no-index --platform win_amd64 --python-version 3.11 --json",
			want: WheelhouseOptions{Common: Common{Globals: Globals{ConfigPath: "ferry.yml", JSON: true}}, Dir: "vendor/wheels", Python: "python3.11", FindLinks: []string{"a", "https://x.example/w"},
				IndexURL: "https://pypi.example/simple", NoIndex: true, Platform: "win_amd64", PythonVersion: "3.11"}},
		{name: "an argument", args: "wheels", code: exitcode.Usage},
		{name: "unknown flag", args: "--target x", code: exitcode.Usage},
	})
}

// Every command is registered on the root, and each has its test above.
func TestRootRegistersEveryCommand(t *testing.T) {
	t.Parallel()
	root := NewCmdRoot(testFactory())
	var names []string
	for _, c := range root.Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			names = append(names, c.Name())
		}
	}
	want := "audit check dashboard demo deploy doctor exec history iam init lint metrics releases repair report rollback sandbox schema status unlock validate version wheelhouse windows"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("commands %q, want %q", got, want)
	}
}

// wantsJSON finds --json even when cobra stopped parsing before it.
func TestWantsJSON(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]bool{
		"deploy --bogus --json": true, "deploy --json=true": true, "deploy --json=false": false,
		"deploy --jsonx": false, "deploy -- --json": false, "deploy": false,
	} {
		cmd := &cobra.Command{Use: "x"}
		addGlobalFlags(cmd.PersistentFlags())
		if got := wantsJSON(cmd, strings.Fields(args)); got != want {
			t.Errorf("wantsJSON(%q) = %v, want %v", args, got, want)
		}
	}
}
