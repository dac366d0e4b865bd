package cli

// The runner's lists: what ferry deploy and ferry rollback do, in order,
// each step one line (the steps themselves are in operation.go). A new
// capability is one more line here, for example
//
//	{name: "policy", run: (*operation).policy},               // after gates: window, freeze, emergency
//	{name: "record", run: (*operation).record, always: true},  // after transport: the audit record
//	{name: "notify", run: (*operation).notify, always: true},  // after report
//
// Steps marked always run after a failure too: the report must say what
// happened, whatever it was.

// deploySteps is ferry deploy.
var deploySteps = []step[*operation]{
	{name: "plan", run: (*operation).planDeploy},
	{name: "gates", run: (*operation).gates},
	{name: "github", run: (*operation).github}, // a GitHub deployment, in_progress; its status when the runner ends
	{name: "transport", run: (*operation).transport},
	{name: "report", run: (*operation).report, always: true},
}

// rollbackSteps is ferry rollback.
var rollbackSteps = []step[*operation]{
	{name: "plan", run: (*operation).planRollback},
	{name: "choose", run: (*operation).chooseRelease},
	{name: "github", run: (*operation).github},
	{name: "transport", run: (*operation).transport},
	{name: "report", run: (*operation).report, always: true},
}
