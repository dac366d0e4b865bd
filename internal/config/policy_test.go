package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
)

const policyYAML = `app: billing
health:
  watch: 15m
environments:
  production:
    target: ssm
    root: /srv/billing
    ssm: {region: eu-west-1, bucket: billing-deploy, instance_ids: [i-0123456789abcdef0]}
    windows:
      timezone: Europe/Berlin
      allow: ["Tue-Thu 10:00-14:00"]
      holidays: [2026-12-24, 12-25]
    freezes:
      - {from: 2026-12-20, to: 2027-01-02, reason: year-end}
    change_calendars: [ProductionCalendar]
    policy: {emergency: forbid}
notify:
  - {slack: {url_env: SLACK_WEBHOOK_URL}, on: [start, success, failure, rollback, emergency]}
  - {teams: {url_env: TEAMS_WEBHOOK_URL}}
  - {webhook: {url_env: DEPLOY_HOOK_URL, secret_env: DEPLOY_HOOK_SECRET}}
  - {email: {smtp: "smtp.example.com:587", from: deploy@example.com, to: [ops@example.com], username_env: SMTP_USER, password_env: SMTP_PASSWORD}}
`

// The interface, as written there, loads: the policy keys of an
// environment, the notify list, the watch with its default failures, and
// the SOP's output layout.
func TestPolicyNotifyAndWatchLoad(t *testing.T) {
	c, err := Parse("ferry.yml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Environments["production"]
	if e.Windows.Timezone != "Europe/Berlin" || len(e.Windows.Allow) != 1 || len(e.Windows.Holidays) != 2 || len(e.Freezes) != 1 ||
		e.Freezes[0].Reason != "year-end" || e.ChangeCalendars[0] != "ProductionCalendar" || e.Policy.Emergency != "forbid" {
		t.Errorf("policy keys: %+v", e.PolicyOf())
	}
	if len(c.Notify) != 4 || c.Notify[0].Slack == nil || c.Notify[3].Email.SMTP != "smtp.example.com:587" {
		t.Errorf("notify: %+v", c.Notify)
	}
	if c.Health.Watch != 15*time.Minute || c.Health.WatchFailures != DefaultWatchFailures {
		t.Errorf("watch %s, failures %d", c.Health.Watch, c.Health.WatchFailures)
	}
	if e.SSM.OutputPrefix != "ssm-logs/production" {
		t.Errorf("output prefix %q", e.SSM.OutputPrefix)
	}
}

// Every mistake in the policy keys, the notify list (templates included)
// and the watch is reported at its LINE:COL, all at once.
func TestPolicyProblemsAtLineAndColumn(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		want           []string
	}{
		{"window and zone", `allow: ["Tue-Thu 10:00-14:00"]`, `allow: ["Tue-Thu 10:00-14:00", "Fry 25:00-26:00"]`,
			[]string{`ferry.yml:11:38: "Fry 25:00-26:00"`}},
		{"missing zone", "      timezone: Europe/Berlin\n", "",
			[]string{"ferry.yml:9:5: windows.timezone is required"}},
		{"freeze backwards and calendar twice", "to: 2027-01-02, reason: year-end}\n    change_calendars: [ProductionCalendar]",
			"to: 2025-01-02, reason: year-end}\n    change_calendars: [ProductionCalendar, ProductionCalendar]",
			[]string{"ferry.yml:14:32: freeze ends (2025-01-02) before it starts (2026-12-20)", "ferry.yml:15:44: change calendar ProductionCalendar is listed twice"}},
		{"emergency", "emergency: forbid", "emergency: sometimes", []string{`ferry.yml:16:25: policy.emergency "sometimes" must be allow or forbid`}},
		{"calendar off ssm", "target: ssm\n", "target: local\n", []string{"ferry.yml:15:23: change_calendars need target: ssm", "ferry.yml:8:10: ssm settings on a local target"}},
		{"notify url in the file", "url_env: SLACK_WEBHOOK_URL", "url_env: https://hooks.slack.com/services/T/B/x", []string{"ferry.yml:18:23: url_env must name an environment variable"}},
		{"notify template", "{teams: {url_env: TEAMS_WEBHOOK_URL}}", "{teams: {url_env: TEAMS_WEBHOOK_URL}, templates: {post: '{{.Commit}}'}}",
			[]string{"ferry.yml:19:61: post:1:2: ", "unknown field .Commit"}},
		{"watch past the timeout", "ssm: {region: eu-west-1,", "ssm: {execution_timeout: 10m, region: eu-west-1,",
			[]string{"ferry.yml:3:10: health.watch 15m0s and health.deadline 1m0s do not fit in environment production's ssm.execution_timeout 10m0s"}},
		{"watch failures", "watch: 15m\n", "watch: 15m\n  watch_failures: 0\n", []string{"ferry.yml:4:19: health.watch_failures must be between 1 and 100, not 0"}},
		{"failures without watch", "watch: 15m\n", "watch_failures: 2\n", []string{"ferry.yml:3:19: health.watch_failures needs health.watch"}},
		{"watch too short to see the failures", "watch: 15m\n", "watch: 2s\n  interval: 1s\n", []string{"ferry.yml:3:10: health.watch 2s cannot see 3 failed probes 1s apart"}},
		{"output prefix", "instance_ids: [i-0123456789abcdef0]}", "instance_ids: [i-0123456789abcdef0], output_prefix: ../logs}", []string{`ssm.output_prefix "../logs" is not a key prefix`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := strings.Replace(policyYAML, c.old, c.new, 1)
			if y == policyYAML {
				t.Fatalf("%q is not in the file", c.old)
			}
			_, err := Parse("ferry.yml", []byte(y))
			if err == nil {
				t.Fatal("want an error")
			}
			var b strings.Builder
			fail.Format(&b, err)
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			if !strings.Contains(b.String(), "hint: ") {
				t.Errorf("no hint:\n%s", b.String())
			}
		})
	}
}
