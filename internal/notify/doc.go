// Package notify tells stakeholders about deployments, as the SOP asks:
// a pre-deployment message (environment, time, expected duration, the
// changes, deployer, approvers) and a post-deployment one (status, SHA,
// completion time, duration, health, and on failure the error and hint),
// on the events start, success, failure, rollback and emergency, to Slack
// incoming webhooks (Block Kit), Microsoft Teams Workflows webhooks (an
// Adaptive Card in the "message" envelope), generic JSON webhooks signed
// with HMAC-SHA256, and mail over SMTP with STARTTLS. docs/policy.md
// describes each payload.
//
// A failed delivery never fails a deployment: each channel is tried up to
// Options.Attempts times with backoff (a 4xx or SMTP 5xx answer is not
// retried), all channels concurrently within Options.Timeout, and the
// outcome of each is a Result for the record. Secrets (webhook URLs, the
// signing secret, the SMTP login) come from environment variables named in
// ferry.yml and are redacted from every Result and log line.
//
// The CLI calls it like this:
//
//	// ferry validate (and config loading):
//	for _, p := range notify.Validate(cfg.Notify) { report("notify"+…p.Path, p.Message, p.Hint) }
//	for _, name := range notify.MissingSecrets(cfg.Notify, getenv) { warn(name + " is not set") }
//
//	// ferry deploy:
//	n, err := notify.New(cfg.Notify, notify.Options{Getenv: getenv, Logf: verbose})
//	msg := notify.Message{Event: notify.Start, App: …, Environment: …, SHA: …, Deployer: …,
//		Started: now, Estimate: fromHistory, Changes: subjectsSinceServing, Location: p.Location()}
//	if d.Emergency != nil {
//		msg.Event = notify.Emergency
//		msg.Emergency = &notify.EmergencyInfo{Actor: d.Emergency.Actor, Reason: d.Emergency.Reason, Overridden: d.Emergency.Rules()}
//	}
//	record.Notifications = append(record.Notifications, n.Send(ctx, msg)...)
//	… deploy …
//	msg.Event = notify.Success // or Failure, Rollback (exit 3 and 4)
//	msg.Finished, msg.Duration, msg.Health, msg.Error, msg.Hints = …
//	record.Notifications = append(record.Notifications, n.Send(context.WithoutCancel(ctx), msg)...)
package notify
