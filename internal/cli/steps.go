package cli

// The runner's lists: what ferry deploy and ferry rollback do, in order,
// each step one line (the steps themselves are in operation.go,
// records.go, policystep.go and notifystep.go). A new capability is one
// more line here.
//
// A deploy: plan; record-begin (the begin record, before anything else:
// no record, no deploy); gates (a blocking gate refuses, exit 6); policy
// (windows, holidays, freezes, change calendars, --emergency: exit 6);
// notify-start (the pre-deployment message); github (in Actions, a
// GitHub Deployment in_progress, its status when the runner ends: after
// the policy, so a refused deploy is no deployment); transport (the
// servers deploy); notify-end (the post-deployment message); record (the end
// record, whatever happened); report (terminal, job summary, --json).
//
// Steps marked always run after a failure too: the record must keep, and
// the report must say, what happened, whatever it was.

// deploySteps is ferry deploy.
var deploySteps = []step[*operation]{
	{name: "plan", run: (*operation).planDeploy},
	{name: "record-begin", run: (*operation).recordBegin},
	{name: "gates", run: (*operation).gates},
	{name: "policy", run: (*operation).policy},
	{name: "notify-start", run: (*operation).notifyStart},
	{name: "github", run: (*operation).github}, // a GitHub deployment, in_progress; its status when the runner ends
	{name: "transport", run: (*operation).transport},
	{name: "notify-end", run: (*operation).notifyEnd, always: true},
	{name: "record", run: (*operation).recordEnd, always: true},
	{name: "report", run: (*operation).report, always: true},
}

// rollbackSteps is ferry rollback.
var rollbackSteps = []step[*operation]{
	{name: "plan", run: (*operation).planRollback},
	{name: "record-begin", run: (*operation).recordBegin},
	{name: "choose", run: (*operation).chooseRelease},
	{name: "github", run: (*operation).github},
	{name: "transport", run: (*operation).transport},
	{name: "notify-end", run: (*operation).notifyEnd, always: true},
	{name: "record", run: (*operation).recordEnd, always: true},
	{name: "report", run: (*operation).report, always: true},
}
