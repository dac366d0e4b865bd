package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/policy"
	"github.com/ferryhq/ferry/internal/policy/ssmcalendar"
	"github.com/ferryhq/ferry/internal/record"
)

// policyOf compiles t's deployment policy (windows, holidays, freezes,
// Change Calendars, the emergency setting) on the runner's clock, which
// FERRY_NOW fixes. The calendars are asked through SSM with the
// environment's credentials, and only when it lists some.
func (c Common) policyOf(ctx context.Context, t *target) (*policy.Policy, error) {
	clock, err := policy.EnvClock(c.Getenv)
	if err != nil {
		return nil, err
	}
	opts := policy.Options{Clock: clock}
	if len(t.env.ChangeCalendars) > 0 {
		svc, err := c.services(ctx, t)
		if err != nil {
			return nil, err
		}
		opts.Calendars = ssmcalendar.New(svc.SSM)
	}
	return policy.New(t.name, t.env.PolicyOf(), opts)
}

// hasRules says whether t's policy can refuse anything.
func hasRules(t *target) bool {
	e := t.env
	return len(e.Windows.Allow) > 0 || len(e.Windows.Holidays) > 0 || len(e.Freezes) > 0 || len(e.ChangeCalendars) > 0
}

// policy decides, after the gates and before anything is sent, whether the
// deploy may start now: refused outside the windows, on a holiday, in a
// freeze or with a change calendar CLOSED (exit 6, naming the rule and the
// next window), unless --emergency --reason overrides them where
// policy.emergency allows it. The decision goes into the record.
func (o *operation) policy(ctx context.Context) error {
	if !o.emergency && !hasRules(o.t) {
		return skip("no windows, freezes or change calendars for " + o.t.name)
	}
	p, err := o.policyOf(ctx, o.t)
	if err != nil {
		return err
	}
	d, err := p.Check(ctx, policy.Request{Emergency: o.emergency, Reason: o.reason, Actor: o.t.repo.Deployer(o.t.ci)})
	o.decision = d
	if err != nil {
		return err
	}
	if e := d.Emergency; e != nil {
		over := "inside the windows: nothing to override"
		if len(e.Overridden) > 0 {
			over = "overriding " + strings.Join(e.Rules(), "; ")
		}
		fmt.Fprintf(o.Err, "%s emergency deploy by %s (%s): %s; recorded and announced\n", o.painter().Paint(ansi.Yellow, "warning:"), e.Actor, e.Reason, over)
	}
	return nil
}

// refusingPolicy names, for the record, the kind of rule that refused:
// a window or a holiday (the schedule), or a freeze or a closed change
// calendar (a period without deploys).
func refusingPolicy(d *policy.Decision) record.Policy {
	for _, r := range d.Refusals {
		switch r.Rule {
		case policy.RuleFreeze, policy.RuleCalendar:
			return record.PolicyFreeze
		}
	}
	return record.PolicyWindow
}

// refusalTitle is a refusal in a few words for the job summary:
// "refused by window", "refused by freeze", "refused by a blocking gate".
func (o *operation) refusalTitle() string {
	switch {
	case o.failedStep == "gates":
		return "refused by a blocking gate"
	case o.decision != nil && o.decision.Emergency == nil && !o.decision.Open:
		return "refused by " + string(refusingPolicy(o.decision))
	}
	return "refused by policy"
}

// checkEmergency refuses --emergency without a reason, and a --reason
// without --emergency, before anything runs.
func checkEmergency(emergency bool, reason string) error {
	if !emergency && reason != "" {
		return fail.Usage(errors.New("--reason goes with --emergency"), `deploy with --emergency --reason "why", or leave out --reason`)
	}
	// Who takes responsibility is checked when the deploy knows its deployer.
	return policy.Request{Emergency: emergency, Reason: reason, Actor: "checked later"}.Validate()
}
