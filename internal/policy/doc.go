// Package policy decides whether a deploy may start now: deployment
// windows in a named time zone, holidays, freezes, AWS SSM Change
// Calendars, and the emergency override. It runs on the deploying side
// (the runner's clock), before anything is sent to a server, and refuses
// with exit code 6 saying which rule refused and when the next window
// opens. docs/policy.md is the user's description.
//
// The CLI calls it like this (the deploy runner's "policy" step):
//
//	if err := (policy.Request{Emergency: emergency, Reason: reason, Actor: deployer}).Validate(); err != nil {
//		return err // usage error, exit 2: --emergency without --reason
//	}
//	clock, err := policy.EnvClock(io.Getenv) // FERRY_NOW fixes the clock
//	p, err := policy.New(envName, policy.Environment{
//		Windows: env.Windows, Freezes: env.Freezes,
//		ChangeCalendars: env.ChangeCalendars, Policy: env.Policy,
//	}, policy.Options{Clock: clock, Calendars: ssmcalendar.New(ssmClient)})
//	d, err := p.Check(ctx, policy.Request{Emergency: emergency, Reason: reason, Actor: deployer})
//	record(d)      // always returned, also when refused
//	if err != nil {
//		return err // *fail.Error: exit 6 refused, exit 1 a calendar could not be asked
//	}
//	// d.Emergency (actor, reason, overridden rules) goes to the record and
//	// the notifications.
//
// and `ferry windows ENV`:
//
//	rep, err := p.Report(ctx, 5)
//	rep.WriteText(out) // or json.Marshal(rep)
//
// ferry validate calls Validate(cfg) and reports each Problem at
// "environments.<name>." + Problem.Path.
//
// An instant is inside a window when the local wall clock shows an allowed
// day and time, start included, end excluded ("Tue-Thu 10:00-14:00" allows
// 10:00:00 up to 13:59:59.999). So a window on the spring-forward day's
// missing hour does not exist, and one on the fall-back day's repeated hour
// is open both times that hour is shown (schedule.go says more).
package policy
