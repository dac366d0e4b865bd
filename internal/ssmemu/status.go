package ssmemu

// Invocation StatusDetails values, as the API spells them (no spaces, e.g.
// "ExecutionTimedOut", as observed in real GetCommandInvocation answers).
//
// Source for the meaning of each value and for the Status it maps to: the
// botocore model documentation of CommandInvocation.StatusDetails and
// GetCommandInvocationResult.StatusDetails, and the AWS Systems Manager User
// Guide page "Understanding command statuses" (monitor-commands.html):
//
//	StatusDetails      Status      ResponseCode  source / note
//	Pending            Pending     -1            documented
//	InProgress         InProgress  -1            documented
//	Delayed            Delayed     -1            documented; never produced here
//	Success            Success     0             documented
//	Failed             Failed      exit code     documented
//	ExecutionTimedOut  TimedOut    137           documented ("TimedOut includes both
//	                                             Delivery and Execution time outs"); 137 is
//	                                             the Linux agent's killed-by-SIGKILL code
//	DeliveryTimedOut   TimedOut    -1            documented
//	Cancelling         Cancelling  -1            model enum
//	Cancelled          Cancelled   137 or -1     137 if a running script was killed
//	Undeliverable      Failed      -1            observed in real answers
//	Terminated         Failed      -1            inferred: not documented, Failed like Undeliverable
//	InvalidPlatform    Failed      -1            inferred: not documented
const (
	detailPending           = "Pending"
	detailInProgress        = "InProgress"
	detailSuccess           = "Success"
	detailFailed            = "Failed"
	detailExecutionTimedOut = "ExecutionTimedOut"
	detailDeliveryTimedOut  = "DeliveryTimedOut"
	detailCancelling        = "Cancelling"
	detailCancelled         = "Cancelled"
	detailUndeliverable     = "Undeliverable"
	detailTerminated        = "Terminated"
	detailInvalidPlatform   = "InvalidPlatform"
)

// Command-level StatusDetails values that have no invocation counterpart.
const (
	detailIncomplete       = "Incomplete"
	detailNoInstancesInTag = "NoInstancesInTag"
)

// stoppedExitCode is what the Linux agent reports when it kills a script for
// a timeout or a cancel: 128 + SIGKILL.
const stoppedExitCode = 137

// rebootExitCode asks the Linux agent to reboot and run the script again.
const rebootExitCode = 194

func invocationStatus(detail string) string {
	switch detail {
	case detailExecutionTimedOut, detailDeliveryTimedOut:
		return "TimedOut"
	case detailUndeliverable, detailTerminated, detailInvalidPlatform:
		return "Failed"
	}
	return detail
}

// pluginStatus maps to the smaller CommandPluginStatus enum (no Delayed, no
// Cancelling): a plugin being cancelled is still running.
func pluginStatus(detail string) string {
	if detail == detailCancelling {
		return "InProgress"
	}
	return invocationStatus(detail)
}

func terminalDetail(detail string) bool {
	switch detail {
	case detailPending, detailInProgress, detailCancelling:
		return false
	}
	return true
}

// errorDetail says whether an invocation counts in ErrorCount and against
// MaxErrors: documented as Failed and Execution Timed Out only.
func errorDetail(detail string) bool {
	return detail == detailFailed || detail == detailExecutionTimedOut
}
