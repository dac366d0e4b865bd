package notify

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
)

// Channel is one entry of ferry.yml's top-level notify list: exactly one
// of Slack, Teams, Webhook or Email, the events it wants, and optionally
// its own templates. config.Config holds them as
//
//	Notify []notify.Channel `yaml:"notify"`
type Channel struct {
	Slack   *Slack   `yaml:"slack"`
	Teams   *Teams   `yaml:"teams"`
	Webhook *Webhook `yaml:"webhook"`
	Email   *Email   `yaml:"email"`
	// On lists the events sent here: start, success, failure, rollback,
	// emergency. Empty means all of them.
	On []string `yaml:"on"`
	// Templates override the SOP's two messages for this channel.
	Templates Templates `yaml:"templates"`
}

// Slack is a Slack incoming webhook.
type Slack struct {
	// URLEnv names the environment variable that holds the webhook URL.
	URLEnv string `yaml:"url_env"`
}

// Teams is a Microsoft Teams Workflows webhook ("When a Teams webhook
// request is received").
type Teams struct {
	URLEnv string `yaml:"url_env"`
}

// Webhook is a generic JSON webhook, signed with HMAC-SHA256 when
// SecretEnv is set.
type Webhook struct {
	URLEnv    string `yaml:"url_env"`
	SecretEnv string `yaml:"secret_env"`
}

// Email is mail over SMTP with STARTTLS.
type Email struct {
	// SMTP is the server as host:port, e.g. smtp.example.com:587.
	SMTP string   `yaml:"smtp"`
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	// UsernameEnv and PasswordEnv name the variables holding the SMTP
	// login; both or neither. PLAIN auth is used, only after STARTTLS.
	UsernameEnv string `yaml:"username_env"`
	PasswordEnv string `yaml:"password_env"`
}

// Templates are Go text/template sources; empty means the default
// (DefaultPre, DefaultPost). The first rendered line is the title.
type Templates struct {
	// Pre is told on start and emergency.
	Pre string `yaml:"pre"`
	// Post is told on success, failure and rollback.
	Post string `yaml:"post"`
}

// Kind is the channel's kind: slack, teams, webhook or email ("" when
// none or several are set, which Validate refuses).
func (c Channel) Kind() string {
	var kinds []string
	if c.Slack != nil {
		kinds = append(kinds, "slack")
	}
	if c.Teams != nil {
		kinds = append(kinds, "teams")
	}
	if c.Webhook != nil {
		kinds = append(kinds, "webhook")
	}
	if c.Email != nil {
		kinds = append(kinds, "email")
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// Problem is one mistake in the notify list. Path is in the config
// decoder's form ("notify[2].email.to[0]"), so the caller can report
// ferry.yml:LINE:COL.
type Problem struct {
	Path    string
	Message string
	Hint    string
}

func (p Problem) Error() string { return p.Path + ": " + p.Message }

// Validate reports every mistake in the notify list at once, templates
// included (parse errors, unknown fields, failures on sample messages):
// ferry validate calls it, so nothing is found during a deployment.
// Secrets are not looked at: see MissingSecrets.
func Validate(channels []Channel) []Problem {
	var ps []Problem
	for i, c := range channels {
		ps = append(ps, validateChannel(i, c)...)
	}
	return ps
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validateChannel(i int, c Channel) []Problem {
	var ps []Problem
	at := fmt.Sprintf("notify[%d]", i)
	add := func(path, hint, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	// envVar checks a *_env key. Its value is never echoed when it looks
	// like the secret itself: that would print it.
	envVar := func(path, value, what string, required bool) {
		switch {
		case value == "" && required:
			add(path, fmt.Sprintf("name the environment variable that holds the %s; the value itself never goes into ferry.yml", what),
				"%s is required", path[strings.LastIndex(path, ".")+1:])
		case value == "":
		case !envName.MatchString(value):
			add(path, fmt.Sprintf("put the %s in an environment variable (a CI secret) and write that variable's name here", what),
				"%s must name an environment variable (letters, digits and _), not hold the %s", path[strings.LastIndex(path, ".")+1:], what)
		}
	}
	switch c.Kind() {
	case "":
		add(at, "write one of slack:, teams:, webhook: or email: per entry", "each notify entry names exactly one channel: slack, teams, webhook or email")
	case "slack":
		envVar(at+".slack.url_env", c.Slack.URLEnv, "webhook URL", true)
	case "teams":
		envVar(at+".teams.url_env", c.Teams.URLEnv, "webhook URL", true)
	case "webhook":
		envVar(at+".webhook.url_env", c.Webhook.URLEnv, "webhook URL", true)
		envVar(at+".webhook.secret_env", c.Webhook.SecretEnv, "signing secret", false)
	case "email":
		e := c.Email
		host, port, err := net.SplitHostPort(e.SMTP)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			add(at+".email.smtp", "write the server as host:port, e.g. smtp.example.com:587", "email.smtp %q is not host:port", e.SMTP)
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			add(at+".email.from", "write one address, e.g. deploy@example.com or \"Deploys <deploy@example.com>\"", "email.from %q is not a mail address", e.From)
		}
		if len(e.To) == 0 {
			add(at+".email.to", "list who gets the mail, e.g. to: [ops@example.com]", "email.to needs at least one address")
		}
		for j, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				add(fmt.Sprintf("%s.email.to[%d]", at, j), "write one address per entry", "%q is not a mail address", to)
			}
		}
		envVar(at+".email.username_env", e.UsernameEnv, "SMTP user name", false)
		envVar(at+".email.password_env", e.PasswordEnv, "SMTP password", false)
		if (e.UsernameEnv == "") != (e.PasswordEnv == "") {
			add(at+".email", "set both username_env and password_env, or neither for a server that needs no login",
				"email needs both username_env and password_env, or neither")
		}
	}
	for j, on := range c.On {
		if _, err := validEvent(on); err != nil {
			add(fmt.Sprintf("%s.on[%d]", at, j), "events are start, success, failure, rollback and emergency", "%v", err)
		}
	}
	_, errs := compileTemplates(c.Templates.Pre, c.Templates.Post)
	for _, err := range errs {
		add(at+".templates."+err.name, "templates are Go text/template over the fields docs/policy.md lists", "%v", err.err)
	}
	return ps
}

// MissingSecrets names the environment variables the channels need and
// getenv does not have, for ferry validate and doctor to warn about (a
// missing secret never fails a deploy: that channel is reported failed).
func MissingSecrets(channels []Channel, getenv func(string) string) []string {
	var out []string
	for _, c := range channels {
		for _, name := range secretNames(c) {
			if name != "" && getenv(name) == "" {
				out = append(out, name)
			}
		}
	}
	return out
}

func secretNames(c Channel) []string {
	switch {
	case c.Slack != nil:
		return []string{c.Slack.URLEnv}
	case c.Teams != nil:
		return []string{c.Teams.URLEnv}
	case c.Webhook != nil:
		return []string{c.Webhook.URLEnv, c.Webhook.SecretEnv}
	case c.Email != nil:
		return []string{c.Email.UsernameEnv, c.Email.PasswordEnv}
	}
	return nil
}
