package notify_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/notify"
)

// A failing endpoint is retried, then reported; Send itself never fails.
func TestRetriedThenReported(t *testing.T) {
	h := newHook(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream overloaded", http.StatusServiceUnavailable)
	})
	env := map[string]string{"U": h.srv.URL}
	var l logs
	n := newNotifier(t, []notify.Channel{{Slack: &notify.Slack{URLEnv: "U"}}}, fastOptions(env, &l))
	r := sendOne(t, n, preMessage())
	if r.Delivered || r.Attempts != 4 || len(h.requests()) != 4 {
		t.Fatalf("result %+v after %d requests, want 4 failed attempts", r, len(h.requests()))
	}
	if !strings.Contains(r.Error, "the webhook answered 503 Service Unavailable: upstream overloaded (after 4 attempts)") {
		t.Errorf("error %q", r.Error)
	}
	if strings.Count(l.String(), "attempt ") != 4 {
		t.Errorf("logs:\n%s", l.String())
	}
}

func TestRecoversOnRetry(t *testing.T) {
	h := newHook(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 2:
			// A dropped connection: the client sees a network error.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			fmt.Fprint(w, "ok")
		}
	})
	env := map[string]string{"U": h.srv.URL}
	n := newNotifier(t, []notify.Channel{{Teams: &notify.Teams{URLEnv: "U"}}}, fastOptions(env, nil))
	if r := sendOne(t, n, preMessage()); !r.Delivered || r.Attempts != 3 || r.Error != "" {
		t.Errorf("result %+v, want delivered on the third attempt", r)
	}
	// A webhook's retries carry the same delivery ID.
	h2 := newHook(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	env["W"] = h2.srv.URL
	n = newNotifier(t, []notify.Channel{{Webhook: &notify.Webhook{URLEnv: "W"}}}, fastOptions(env, nil))
	sendOne(t, n, preMessage())
	if reqs := h2.requests(); len(reqs) != 2 || reqs[0].Header.Get("X-Ferry-Delivery") != reqs[1].Header.Get("X-Ferry-Delivery") {
		t.Errorf("retry changed the delivery ID: %d requests", len(reqs))
	}
}

// A 4xx is not retried: the URL or the payload is wrong.
func TestClientErrorNotRetried(t *testing.T) {
	h := newHook(t, func(_ int, w http.ResponseWriter, _ *http.Request) { http.Error(w, "no_service", http.StatusNotFound) })
	env := map[string]string{"U": h.srv.URL}
	n := newNotifier(t, []notify.Channel{{Slack: &notify.Slack{URLEnv: "U"}}}, fastOptions(env, nil))
	if r := sendOne(t, n, preMessage()); r.Delivered || r.Attempts != 1 || !strings.Contains(r.Error, "404 Not Found: no_service") {
		t.Errorf("result %+v", r)
	}
}

// Sends run concurrently under one bound: an endpoint that never answers
// is given up at the bound, and does not hold back the others.
func TestBoundedAndConcurrent(t *testing.T) {
	release := make(chan struct{})
	hang := newHook(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	ok := newHook(t, nil)
	env := map[string]string{"HANG": hang.srv.URL, "OK": ok.srv.URL}
	o := fastOptions(env, nil)
	o.Timeout, o.AttemptTimeout = 30*time.Second, 100*time.Millisecond
	n := newNotifier(t, []notify.Channel{
		{Webhook: &notify.Webhook{URLEnv: "HANG"}},
		{Webhook: &notify.Webhook{URLEnv: "OK"}},
	}, o)
	rs := n.Send(context.Background(), preMessage())
	if len(rs) != 2 || rs[0].Delivered || !rs[1].Delivered {
		t.Fatalf("results %v", rs)
	}
	if !strings.Contains(rs[0].Error, "deadline exceeded (after 4 attempts)") {
		t.Errorf("hanging endpoint: %q", rs[0].Error)
	}
	// The whole Send's bound ends attempts that would go on longer.
	o.Timeout, o.AttemptTimeout = 300*time.Millisecond, time.Minute
	n = newNotifier(t, []notify.Channel{{Webhook: &notify.Webhook{URLEnv: "HANG"}}}, o)
	if r := sendOne(t, n, preMessage()); r.Delivered || !strings.Contains(r.Error, "gave up at the 300ms bound for notifications") {
		t.Errorf("bounded send: %+v", r)
	}
}

// A cancelled deployment context stops the sends and says so.
func TestCancelled(t *testing.T) {
	h := newHook(t, nil)
	n := newNotifier(t, []notify.Channel{{Slack: &notify.Slack{URLEnv: "U"}}}, fastOptions(map[string]string{"U": h.srv.URL}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs := n.Send(ctx, preMessage())
	if len(rs) != 1 || rs[0].Delivered || !strings.HasSuffix(rs[0].Error, "(cancelled)") {
		t.Errorf("results %v", rs)
	}
	// WithoutCancel, as the doc comment advises for the end message.
	if rs := n.Send(context.WithoutCancel(ctx), preMessage()); !rs[0].Delivered {
		t.Errorf("without cancel: %v", rs)
	}
}

// Secrets appear in no result and no log line: not the webhook URL (a
// server echoing it, a refused connection), not the signing secret, not
// the SMTP login.
func TestSecretsRedacted(t *testing.T) {
	const slackPath = "/services/T0SECRET/B0SECRET/xoxbSECRETTOKEN"
	echo := newHook(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid_token for "+r.URL.Path+" at http://"+r.Host+r.URL.Path, http.StatusForbidden)
	})
	// A port nothing listens on: the error is the dialer's, with the URL.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/workflows/x/invoke?api-version=1&sig=TEAMSSIGSECRET"
	l.Close()
	env := map[string]string{
		"SLACK_WEBHOOK_URL":  echo.srv.URL + slackPath,
		"TEAMS_WEBHOOK_URL":  dead,
		"DEPLOY_HOOK_URL":    echo.srv.URL + "/hook/HOOKPATHSECRET",
		"DEPLOY_HOOK_SECRET": "HMACSECRETVALUE",
		"BAD_URL":            "ht!tp://URLSECRET with spaces",
		"SMTP_USER":          "SMTPUSERSECRET",
		"SMTP_PASSWORD":      "SMTPPASSSECRET",
	}
	var lg logs
	n := newNotifier(t, []notify.Channel{
		{Slack: &notify.Slack{URLEnv: "SLACK_WEBHOOK_URL"}},
		{Teams: &notify.Teams{URLEnv: "TEAMS_WEBHOOK_URL"}},
		{Webhook: &notify.Webhook{URLEnv: "DEPLOY_HOOK_URL", SecretEnv: "DEPLOY_HOOK_SECRET"}},
		{Slack: &notify.Slack{URLEnv: "BAD_URL"}},
		{Email: &notify.Email{SMTP: l.Addr().String(), From: "deploy@example.com", To: []string{"ops@example.com"}, UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD"}},
	}, fastOptions(env, &lg))
	rs := n.Send(context.Background(), preMessage())
	var all strings.Builder
	for _, r := range rs {
		if r.Delivered {
			t.Errorf("%v delivered", r)
		}
		fmt.Fprintln(&all, r.String(), r.Error, r.Warning)
	}
	all.WriteString(lg.String())
	for _, secret := range []string{"T0SECRET", "B0SECRET", "xoxbSECRETTOKEN", "TEAMSSIGSECRET", "HOOKPATHSECRET", "HMACSECRETVALUE", "URLSECRET", "SMTPUSERSECRET", "SMTPPASSSECRET"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("%s leaked:\n%s", secret, all.String())
		}
	}
	// What is left still says what went wrong.
	for _, want := range []string{"403 Forbidden: invalid_token", "connection refused", "BAD_URL does not hold an http(s) URL", "[redacted]"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("reports lack %q:\n%s", want, all.String())
		}
	}
}

// A secret missing from the environment is reported per send, without an
// attempt; New does not fail.
func TestMissingSecret(t *testing.T) {
	chs := []notify.Channel{
		{Slack: &notify.Slack{URLEnv: "SLACK_WEBHOOK_URL"}},
		{Webhook: &notify.Webhook{URLEnv: "HOOK", SecretEnv: "HOOK_SECRET"}},
		{Email: &notify.Email{SMTP: "smtp.example.com:587", From: "deploy@example.com", To: []string{"ops@example.com"}, UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD"}},
	}
	env := map[string]string{"HOOK": "https://hooks.example.com/x", "SMTP_USER": "u"}
	getenv := func(k string) string { return env[k] }
	if got := strings.Join(notify.MissingSecrets(chs, getenv), " "); got != "SLACK_WEBHOOK_URL HOOK_SECRET SMTP_PASSWORD" {
		t.Errorf("missing secrets %q", got)
	}
	rs := newNotifier(t, chs, fastOptions(env, nil)).Send(context.Background(), preMessage())
	want := []string{"SLACK_WEBHOOK_URL is not set", "HOOK_SECRET is not set: the webhook is not sent unsigned", "SMTP_PASSWORD is not set"}
	for i, r := range rs {
		if r.Delivered || r.Attempts != 0 || r.Error != want[i] {
			t.Errorf("result %d: %+v, want error %q", i, r, want[i])
		}
	}
}
