package notify_test

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/notify"
)

func TestValidate(t *testing.T) {
	chs := []notify.Channel{
		{},
		{Slack: &notify.Slack{URLEnv: "A"}, Teams: &notify.Teams{URLEnv: "B"}},
		{Slack: &notify.Slack{URLEnv: "https://hooks.slack.com/services/T0/B0/LEAKEDTOKEN"}},
		{Teams: &notify.Teams{}},
		{Webhook: &notify.Webhook{URLEnv: "HOOK", SecretEnv: "not a name"}, On: []string{"start", "deployed"}},
		{Email: &notify.Email{SMTP: "smtp.example.com", From: "nobody", To: []string{"ops@example.com", "@"}, UsernameEnv: "SMTP_USER"}},
		{Email: &notify.Email{SMTP: "smtp.example.com:587", From: "deploy@example.com"}},
		{Slack: &notify.Slack{URLEnv: "S"}, Templates: notify.Templates{Pre: "{{.App"}},
		{Slack: &notify.Slack{URLEnv: "S"}, Templates: notify.Templates{Post: "Deployed\n{{if .Error}}\n  {{.Commit}}\n{{end}}"}},
		{Slack: &notify.Slack{URLEnv: "S"}, Templates: notify.Templates{Pre: "Starting\nreason: {{.Emergency.Reason}}"}},
		{Slack: &notify.Slack{URLEnv: "S"}, Templates: notify.Templates{Pre: "Starting\n{{with .Emergency}}{{.Why}}{{end}}"}},
		{Slack: &notify.Slack{URLEnv: "S"}, Templates: notify.Templates{Post: "Done\n{{time .App}}"}},
	}
	got := map[string]string{}
	for _, p := range notify.Validate(chs) {
		if _, dup := got[p.Path]; dup {
			t.Errorf("%s reported twice", p.Path)
		}
		got[p.Path] = p.Message
		if p.Hint == "" {
			t.Errorf("%s: no hint", p.Path)
		}
		if strings.Contains(p.Message+p.Hint, "LEAKEDTOKEN") {
			t.Errorf("%s echoes the secret: %s", p.Path, p.Message)
		}
	}
	for path, want := range map[string]string{
		"notify[0]":                    "exactly one channel",
		"notify[1]":                    "exactly one channel",
		"notify[2].slack.url_env":      "must name an environment variable",
		"notify[3].teams.url_env":      "url_env is required",
		"notify[4].webhook.secret_env": "must name an environment variable",
		"notify[4].on[1]":              `unknown event "deployed"`,
		"notify[5].email.smtp":         "is not host:port",
		"notify[5].email.from":         "is not a mail address",
		"notify[5].email.to[1]":        "is not a mail address",
		"notify[5].email":              "both username_env and password_env",
		"notify[6].email.to":           "at least one address",
		"notify[7].templates.pre":      "unclosed action",
		"notify[8].templates.post":     "post:3:4: unknown field .Commit; the message has App, Approvers,",
		"notify[9].templates.pre":      "nil pointer evaluating *notify.EmergencyInfo.Reason",
		"notify[10].templates.pre":     "unknown field .Why; .Emergency has Actor, Overridden, Reason",
		"notify[11].templates.post":    "wrong type for value; expected time.Time; got string",
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: %q, want %q", path, got[path], want)
		}
		delete(got, path)
	}
	for path, msg := range got {
		t.Errorf("unexpected problem %s: %s", path, msg)
	}

	if _, err := notify.New(chs[:1], notify.Options{}); fail.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), "notify[0]") {
		t.Errorf("new with a bad channel: %v", err)
	}
	ok := []notify.Channel{
		{Slack: &notify.Slack{URLEnv: "SLACK_WEBHOOK_URL"}, On: []string{"start", "success", "failure", "rollback", "emergency"}},
		{Teams: &notify.Teams{URLEnv: "TEAMS_WEBHOOK_URL"}},
		{Webhook: &notify.Webhook{URLEnv: "DEPLOY_HOOK_URL", SecretEnv: "DEPLOY_HOOK_SECRET"}},
		{Email: &notify.Email{SMTP: "smtp.example.com:587", From: "deploy@example.com", To: []string{"ops@example.com"}, UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD"}},
		{Slack: &notify.Slack{URLEnv: "S"}, Templates: notify.Templates{
			Pre:  "{{.App}} {{with .Emergency}}{{.Reason}} {{join .Overridden \", \"}}{{end}} {{range .Changes}}{{.}}{{end}} {{$.Started.Year}} {{.StatusText}}",
			Post: "{{.Status}} {{short .SHA}} {{duration .Duration}} {{range .Hints}}{{.}}{{end}}",
		}},
	}
	if ps := notify.Validate(ok); ps != nil {
		t.Errorf("the issue's example has problems: %v", ps)
	}
}
