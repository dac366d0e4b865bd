package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/policy"
)

// DefaultWatchFailures is how many failed probes in a row the post-deploy
// watch takes before it rolls back, when health.watch is set alone.
const DefaultWatchFailures = 3

// maxWatch bounds health.watch: beyond a day it is monitoring, not a
// deploy's watch.
const maxWatch = 24 * time.Hour

// PolicyOf is the environment's policy keys as package policy reads them.
func (e *Environment) PolicyOf() policy.Environment {
	return policy.Environment{Windows: e.Windows, Freezes: e.Freezes, ChangeCalendars: e.ChangeCalendars, Policy: e.Policy}
}

// validatePolicy checks what decides when a deploy may start and who is
// told: each environment's windows, freezes, calendars and emergency
// setting (package policy), the notify list with its templates (package
// notify), and the post-deploy watch against health and each ssm
// environment's execution timeout. Each problem is reported where it was
// written.
func (c *Config) validatePolicy(k *checker) {
	for _, name := range c.EnvironmentNames() {
		e := c.Environments[name]
		p := "environments." + name
		for _, pr := range policy.Validate(e.PolicyOf()) {
			at := c.nearest(p + "." + pr.Path)
			k.addFor([]string{p + "." + pr.Path}, at, pr.Hint, "%s", pr.Message)
		}
		if len(e.ChangeCalendars) > 0 && e.Target != TargetSSM {
			k.add(p+".change_calendars", "Change Calendars are asked through SSM with the environment's region and credentials: use them on an ssm target",
				"change_calendars need target: ssm (environment %s is %s)", name, e.Target)
		}
		if s := e.SSM; s != nil && e.Target == TargetSSM {
			if !keyPrefixOK(s.OutputPrefix) {
				k.add(p+".ssm.output_prefix", "letters, digits, '.', '_', '-' and '/' between segments, such as ssm-logs/production (at most 400)", "ssm.output_prefix %q is not a key prefix", s.OutputPrefix)
			}
			if w := c.Health.Watch; w > 0 && w+c.Health.Deadline >= s.ExecutionTimeout {
				k.addFor([]string{"health.watch", "health.deadline", p + ".ssm.execution_timeout"}, c.nearest("health.watch"),
					fmt.Sprintf("through SSM the watch runs inside the command: raise %s.ssm.execution_timeout well above %s (the watch, the health deadline, and the fetch and install before them), or shorten the watch", p, w+c.Health.Deadline),
					"health.watch %s and health.deadline %s do not fit in environment %s's ssm.execution_timeout %s", w, c.Health.Deadline, name, s.ExecutionTimeout)
			}
		}
	}
	for _, pr := range notify.Validate(c.Notify) {
		k.add(c.nearest(pr.Path), pr.Hint, "%s", pr.Message)
	}
	h := c.Health
	switch {
	case h.Watch < 0 || h.Watch > maxWatch:
		k.add("health.watch", "from 1s to 24h, such as 15m; 0 or leaving it out means no watch", "health.watch %s is out of range", h.Watch)
	case h.Watch == 0 && c.HasKey("health.watch_failures"):
		k.add("health.watch_failures", "set health.watch too (such as 15m), or remove watch_failures", "health.watch_failures needs health.watch")
	case h.Watch > 0 && (h.WatchFailures < 1 || h.WatchFailures > 100):
		k.add("health.watch_failures", "from 1 to 100 failed probes in a row (default 3)", "health.watch_failures must be between 1 and 100, not %d", h.WatchFailures)
	case h.Watch > 0 && time.Duration(h.WatchFailures)*h.Interval > h.Watch:
		k.addFor([]string{"health.watch", "health.watch_failures", "health.interval"}, "health.watch",
			"lengthen the watch, or probe more often (health.interval) or take fewer failures",
			"health.watch %s cannot see %d failed probes %s apart (health.interval)", h.Watch, h.WatchFailures, h.Interval)
	}
}

// keyPrefixOK: an S3 key prefix of plain segments, without . or ..
// segments, of at most 400 characters.
func keyPrefixOK(prefix string) bool {
	p := strings.Trim(prefix, "/")
	return prefixRe().MatchString(p) && !strings.Contains("/"+p+"/", "/../") && !strings.Contains("/"+p+"/", "/./") && len(p) <= 400
}

// nearest is path, or the key of the closest section above it that the
// file wrote (a missing key is reported where its section begins).
func (c *Config) nearest(path string) string {
	for p := path; p != ""; {
		if c.nodes[p] != nil || c.nodes[p+"#key"] != nil {
			if p != path && c.nodes[p+"#key"] != nil {
				return p + "#key"
			}
			return p
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return path
}
