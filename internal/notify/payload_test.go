package notify_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/notify"
)

const wantPreBody = "Environment: production\n" +
	"Time: Tue 2026-12-01 10:00 CET\n" +
	"Expected duration: about 3m\n" +
	"Commit: 0123456789ab (main)\n" +
	"Deployer: Ada Lovelace <ada@example.com>\n" +
	"Approvers: Grace Hopper\n" +
	"Changes:\n" +
	"- Fix invoice rounding\n" +
	"- Ping <!channel> & friends"

const wantFailureBody = "Status: failed\n" +
	"Commit: 0123456789abcdef0123456789abcdef01234567\n" +
	"Completed: Tue 2026-12-01 10:02 CET\n" +
	"Duration: 2m5s\n" +
	"Health: healthy: 200 from /health in 140ms\n" +
	"Error: health check failed: 503 from /health\n" +
	"Hint: read shared/logs/app.log on the server"

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	return v
}

func asJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("want %s: %v", s, err)
	}
	return v
}

// Slack: Block Kit header, section and context; text from commits is
// escaped, so a subject cannot ping the channel.
func TestSlackBlocks(t *testing.T) {
	h := newHook(t, nil)
	env := map[string]string{"SLACK_WEBHOOK_URL": h.srv.URL + "/services/T000/B000/XXXX"}
	n := newNotifier(t, []notify.Channel{{Slack: &notify.Slack{URLEnv: "SLACK_WEBHOOK_URL"}}}, fastOptions(env, nil))
	if r := sendOne(t, n, preMessage()); !r.Delivered || r.Attempts != 1 || r.Channel != "slack" || r.Target != "$SLACK_WEBHOOK_URL" {
		t.Fatalf("result %+v", r)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].Path != "/services/T000/B000/XXXX" || reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests %+v", reqs)
	}
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	want := map[string]any{
		"text": "Deployment of billing to production starting",
		"blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": "Deployment of billing to production starting", "emoji": true}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": esc(wantPreBody)}},
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "ferry · start · billing · production · 0123456789ab"}}},
		},
	}
	if got := decodeJSON(t, reqs[0].Body); !reflect.DeepEqual(got, want) {
		t.Errorf("slack body:\n%s\nwant:\n%v", reqs[0].Body, want)
	}
	if strings.Contains(string(reqs[0].Body), "<!channel>") {
		t.Errorf("an unescaped <!channel> reached Slack")
	}
}

// Teams: the Workflows "message" envelope around an Adaptive Card.
func TestTeamsAdaptiveCard(t *testing.T) {
	h := newHook(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(202) })
	env := map[string]string{"TEAMS_WEBHOOK_URL": h.srv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIGNATURE123"}
	n := newNotifier(t, []notify.Channel{{Teams: &notify.Teams{URLEnv: "TEAMS_WEBHOOK_URL"}}}, fastOptions(env, nil))
	if r := sendOne(t, n, postMessage(notify.Failure)); !r.Delivered {
		t.Fatalf("result %+v", r)
	}
	body := []string{`{"type":"TextBlock","text":"Deployment of billing to production: failed","wrap":true,"size":"Large","weight":"Bolder","color":"Attention","style":"heading"}`}
	for _, line := range strings.Split(wantFailureBody, "\n") {
		b, _ := json.Marshal(line)
		body = append(body, `{"type":"TextBlock","text":`+string(b)+`,"wrap":true,"spacing":"None"}`)
	}
	want := asJSON(t, `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":{
		"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4",
		"body":[`+strings.Join(body, ",")+`],"msteams":{"width":"Full"}}}]}`)
	reqs := h.requests()
	if got := any(decodeJSON(t, reqs[0].Body)); !reflect.DeepEqual(got, want) {
		t.Errorf("teams body:\n%s", reqs[0].Body)
	}
}

// The generic webhook: the message as JSON, signed over timestamp + "." +
// body, the signature recomputed here with the standard library.
func TestWebhookSigned(t *testing.T) {
	h := newHook(t, nil)
	secret := "whsec-0123456789"
	env := map[string]string{"DEPLOY_HOOK_URL": h.srv.URL + "/hook", "DEPLOY_HOOK_SECRET": secret}
	n := newNotifier(t, []notify.Channel{{Webhook: &notify.Webhook{URLEnv: "DEPLOY_HOOK_URL", SecretEnv: "DEPLOY_HOOK_SECRET"}}}, fastOptions(env, nil))
	m := postMessage(notify.Rollback)
	m.Emergency = &notify.EmergencyInfo{Actor: "Ada", Reason: "checkout down", Overridden: []string{"window Tue-Thu 10:00-14:00"}}
	if r := sendOne(t, n, m); !r.Delivered {
		t.Fatalf("result %+v", r)
	}
	req := h.requests()[0]
	ts := req.Header.Get("X-Ferry-Timestamp")
	if ts != strconv.FormatInt(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Unix(), 10) {
		t.Errorf("timestamp %q", ts)
	}
	if got, want := req.Header.Get("X-Ferry-Signature"), hmacHex(secret, ts+"."+string(req.Body)); got != "sha256="+want {
		t.Errorf("signature %q, want sha256=%s", got, want)
	}
	if !notify.Verify(secret, ts, req.Header.Get("X-Ferry-Signature"), req.Body, time.Unix(mustInt(t, ts), 0).Add(time.Minute), 5*time.Minute) {
		t.Errorf("Verify refuses a good signature")
	}
	if notify.Verify(secret, ts, req.Header.Get("X-Ferry-Signature"), append(req.Body, ' '), time.Unix(mustInt(t, ts), 0), 5*time.Minute) ||
		notify.Verify(secret, ts, req.Header.Get("X-Ferry-Signature"), req.Body, time.Unix(mustInt(t, ts), 0).Add(time.Hour), 5*time.Minute) {
		t.Errorf("Verify accepts a changed body or an old timestamp")
	}
	if req.Header.Get("X-Ferry-Event") != "rollback" || len(req.Header.Get("X-Ferry-Delivery")) != 32 {
		t.Errorf("headers %v", req.Header)
	}
	got := decodeJSON(t, req.Body)
	want := map[string]any{
		"version": 1.0, "event": "rollback", "delivery": req.Header.Get("X-Ferry-Delivery"),
		"title": "Deployment of billing to production: rolled back",
		"text": "Status: rolled back\nCommit: " + sha + "\nCompleted: Tue 2026-12-01 10:02 CET\nDuration: 2m5s\n" +
			"Health: healthy: 200 from /health in 140ms\nEmergency reason: checkout down (responsibility: Ada)\n" +
			"Error: health check failed: 503 from /health\nHint: read shared/logs/app.log on the server",
		"app": "billing", "environment": "production", "sha": sha, "ref": "main",
		"deployer": "Ada Lovelace <ada@example.com>", "approvers": []any{"Grace Hopper"},
		"started": "2026-12-01T09:00:00Z", "estimate_seconds": 180.0,
		"changes": []any{"Fix invoice rounding", "Ping <!channel> & friends"},
		"status":  "rolled back", "finished": "2026-12-01T09:02:05Z", "duration_seconds": 125.0,
		"health": "healthy: 200 from /health in 140ms", "error": "health check failed: 503 from /health",
		"hints":     []any{"read shared/logs/app.log on the server"},
		"emergency": map[string]any{"actor": "Ada", "reason": "checkout down", "overridden": []any{"window Tue-Thu 10:00-14:00"}},
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s: %#v, want %#v", k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected member %s", k)
			}
		}
	}
	// Without secret_env the webhook goes unsigned.
	n = newNotifier(t, []notify.Channel{{Webhook: &notify.Webhook{URLEnv: "DEPLOY_HOOK_URL"}}}, fastOptions(env, nil))
	sendOne(t, n, preMessage())
	if r := h.requests()[1]; r.Header.Get("X-Ferry-Signature") != "" || r.Header.Get("X-Ferry-Event") != "start" {
		t.Errorf("unsigned webhook headers %v", r.Header)
	}
}

// A custom template's first line is the title, the rest the body; times
// are in the environment's zone.
func TestCustomTemplate(t *testing.T) {
	h := newHook(t, nil)
	env := map[string]string{"U": h.srv.URL}
	ch := notify.Channel{Webhook: &notify.Webhook{URLEnv: "U"}, Templates: notify.Templates{
		Pre: "{{.App}} → {{.Environment}} at {{time .Started}}\n{{range $i, $c := .Changes}}{{$i}}. {{$c}} ({{$.Deployer}})\n{{end}}",
	}}
	n := newNotifier(t, []notify.Channel{ch}, fastOptions(env, nil))
	sendOne(t, n, preMessage())
	sendOne(t, n, postMessage(notify.Success)) // post keeps the default
	reqs := h.requests()
	got := decodeJSON(t, reqs[0].Body)
	if got["title"] != "billing → production at Tue 2026-12-01 10:00 CET" ||
		got["text"] != "0. Fix invoice rounding (Ada Lovelace <ada@example.com>)\n1. Ping <!channel> & friends (Ada Lovelace <ada@example.com>)" {
		t.Errorf("custom pre: title %q text %q", got["title"], got["text"])
	}
	if got := decodeJSON(t, reqs[1].Body); got["title"] != "Deployment of billing to production: deployed" {
		t.Errorf("default post title %q", got["title"])
	}
}

// Channels get the events they list; emergency counts as start and
// rollback as failure, so SOP channels miss neither.
func TestOnFilter(t *testing.T) {
	h := newHook(t, nil)
	env := map[string]string{"U": h.srv.URL}
	chs := []notify.Channel{
		{Webhook: &notify.Webhook{URLEnv: "U"}, On: []string{"start"}},
		{Webhook: &notify.Webhook{URLEnv: "U"}, On: []string{"emergency"}},
		{Webhook: &notify.Webhook{URLEnv: "U"}, On: []string{"failure"}},
		{Webhook: &notify.Webhook{URLEnv: "U"}},
	}
	n := newNotifier(t, chs, fastOptions(env, nil))
	indexes := func(rs []notify.Result) []int {
		var out []int
		for _, r := range rs {
			out = append(out, r.Index)
		}
		return out
	}
	for _, c := range []struct {
		e    notify.Event
		want []int
	}{
		{notify.Start, []int{0, 3}},
		{notify.Emergency, []int{0, 1, 3}},
		{notify.Success, []int{3}},
		{notify.Failure, []int{2, 3}},
		{notify.Rollback, []int{2, 3}},
	} {
		m := preMessage()
		m.Event = c.e
		if got := indexes(n.Send(t.Context(), m)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s went to %v, want %v", c.e, got, c.want)
		}
	}
}
