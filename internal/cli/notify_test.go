package cli_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/testing/githubtest"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/testing/smtptest"
)

// hook is a loopback webhook receiver that keeps every request; status
// is what it answers (200 when 0).
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies, h.heads = append(h.bodies, b), append(h.heads, r.Header.Clone())
		h.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// texts are the string values of each request's JSON body, joined.
func (h *hook) texts(t *testing.T) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, b := range h.bodies {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("a body is not JSON: %s", b)
		}
		var all []string
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				all = append(all, x)
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for _, k := range sortedKeys(x) {
					walk(x[k])
				}
			}
		}
		walk(v)
		out = append(out, strings.Join(all, "\n"))
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Ada Tester", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitIn(t *testing.T, dir, file, content, subject string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", subject)
	return gitIn(t, dir, "rev-parse", "HEAD")
}

func mustHave(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// Through ferry deploy, each channel of the SOP's notify list gets the
// pre-deployment message (environment, time, the expected duration from
// the history, the commit subjects since the serving release, the
// deployer) and the post-deployment one (status, SHA, completion time,
// duration, health; on a rollback the error and hint): Slack and Teams
// webhooks and a signed generic webhook on loopback, mail through a real
// SMTP server with STARTTLS. A channel that fails is retried, recorded,
// and fails nothing; an emergency deploy is announced as one.
func TestEveryChannelHearsTheDeploy(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t, smtptest.Options{})
	slack, teams, webhook, broken := newHook(t, 0), newHook(t, 202), newHook(t, 0), newHook(t, 500)
	config := fakeConfig + fmt.Sprintf(`notify:
  - {slack: {url_env: SLACK_WEBHOOK_URL}, on: [start, success, failure, rollback, emergency]}
  - {teams: {url_env: TEAMS_WEBHOOK_URL}}
  - {webhook: {url_env: DEPLOY_HOOK_URL, secret_env: DEPLOY_HOOK_SECRET}}
  - {email: {smtp: %q, from: deploy@example.com, to: [ops@example.com], username_env: SMTP_USER, password_env: SMTP_PASSWORD}}
  - {webhook: {url_env: BROKEN_HOOK_URL}, on: [success]}
`, smtp.Addr)
	dir, first := fakeProject(t, config)
	// The release that serves, as the records tell it: the first commit,
	// deployed in 3 minutes.
	prev := recordtest.Deploy("test", 1, time.Now().Add(-time.Hour), 3*time.Minute, time.Hour)
	prev.App, prev.Change.SHA = "testapp", first
	seed(t, filepath.Join(dir, "srv"), prev.AsBegin(), prev)
	commitIn(t, dir, "invoice.py", "ROUND = 2\n", "Fix invoice rounding")
	sha := commitIn(t, dir, "sepa.py", "FORMAT = 'pain.001'\n", "Add SEPA export")

	const secret = "whsec-0123456789"
	env := map[string]string{
		"SLACK_WEBHOOK_URL": slack.srv.URL + "/services/T000/B000/XXXX", "TEAMS_WEBHOOK_URL": teams.srv.URL + "/workflows/x?sig=SIG",
		"DEPLOY_HOOK_URL": webhook.srv.URL + "/hook", "DEPLOY_HOOK_SECRET": secret, "BROKEN_HOOK_URL": broken.srv.URL + "/hook",
		"SMTP_USER": smtp.User, "SMTP_PASSWORD": smtp.Password,
	}
	fast := func(answer string) func(*cli.Factory) {
		return func(f *cli.Factory) {
			withFake(answering(answer))(f)
			f.Notify = notify.Options{TLSConfig: &tls.Config{RootCAs: smtp.RootCAs}, Attempts: 2,
				Backoff: poll.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}}
		}
	}
	r := ferryWith(t, dir, env, fast(agent.OutcomeDeployed), "deploy", "test")
	if r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	mustContain(t, r, "stderr", "warning: notify[4] webhook $BROKEN_HOOK_URL: success not delivered")

	// Slack: the header and the section of each message.
	msgs := slack.texts(t)
	if len(msgs) != 2 {
		t.Fatalf("slack got %d messages, want start and success", len(msgs))
	}
	mustHave(t, "slack's start", msgs[0], "Deployment of testapp to test starting", "Environment: test", "Expected duration: about 3m",
		"Commit: "+sha[:12]+" (main)", "Deployer: Ada Tester", "Changes:\n- Add SEPA export\n- Fix invoice rounding\n")
	if strings.Contains(msgs[0], "- first") {
		t.Errorf("slack's start lists the serving release's own commit:\n%s", msgs[0])
	}
	mustHave(t, "slack's success", msgs[1], "Deployment of testapp to test: deployed", "Status: deployed", "Commit: "+sha, "Completed: ", "Duration: ",
		"Health: healthy: http://127.0.0.1:8080/health answered 200")
	// Teams: a card with one TextBlock per line.
	msgs = teams.texts(t)
	if len(msgs) != 2 {
		t.Fatalf("teams got %d messages", len(msgs))
	}
	mustHave(t, "teams' start", msgs[0], "AdaptiveCard", "Deployment of testapp to test starting", "Expected duration: about 3m", "- Fix invoice rounding")
	mustHave(t, "teams' success", msgs[1], "Status: deployed", "Commit: "+sha)
	// The webhook: the message as JSON, signed.
	webhook.mu.Lock()
	if len(webhook.bodies) != 2 {
		t.Fatalf("the webhook got %d messages", len(webhook.bodies))
	}
	var start struct {
		Event     string   `json:"event"`
		SHA       string   `json:"sha"`
		Deployer  string   `json:"deployer"`
		Estimate  float64  `json:"estimate_seconds"`
		Changes   []string `json:"changes"`
		Emergency any      `json:"emergency"`
	}
	if err := json.Unmarshal(webhook.bodies[0], &start); err != nil || start.Event != "start" || start.SHA != sha || start.Deployer != "Ada Tester" || start.Estimate != 180 ||
		strings.Join(start.Changes, "|") != "Add SEPA export|Fix invoice rounding" || start.Emergency != nil {
		t.Errorf("the webhook's start: %+v %v\n%s", start, err, webhook.bodies[0])
	}
	for i, h := range webhook.heads {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(h.Get("X-Ferry-Timestamp") + "." + string(webhook.bodies[i])))
		if h.Get("X-Ferry-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("webhook message %d is not signed with the secret: %v", i, h)
		}
	}
	webhook.mu.Unlock()
	// Mail: a subject per message, the body after the title.
	mails := smtp.Messages(t)
	if len(mails) != 2 {
		t.Fatalf("%d mails, want start and success", len(mails))
	}
	for i, want := range [][]string{
		{"Deployment of testapp to test starting", "Expected duration: about 3m", "- Add SEPA export"},
		{"Deployment of testapp to test: deployed", "Status: deployed", "Commit: " + sha},
	} {
		m, err := mail.ReadMessage(strings.NewReader(mails[i].Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		if subject != want[0] || !mails[i].TLS || mails[i].Login != smtp.User {
			t.Errorf("mail %d: subject %q, tls %v, login %q", i, subject, mails[i].TLS, mails[i].Login)
		}
		mustHave(t, fmt.Sprintf("mail %d", i), string(body), want[1:]...)
	}
	// The record keeps every delivery, the failed one too.
	e := lastEnd(t, filepath.Join(dir, "srv"))
	delivered, failed := 0, 0
	for _, n := range e.Notifications {
		if n.Delivered {
			delivered++
		} else if n.Index == 4 && n.Event == "success" && n.Attempts == 2 && n.Error != "" {
			failed++
		}
	}
	if delivered != 8 || failed != 1 {
		t.Errorf("the record's notifications: %d delivered, %d failed; want 8 and 1: %+v", delivered, failed, e.Notifications)
	}

	// A deploy that rolls back: the post message says so, with the error
	// and its hint.
	commitIn(t, dir, "app.py", "print('broken')\n", "Break the app")
	if r := ferryWith(t, dir, env, fast(agent.OutcomeRolledBack), "deploy", "test"); r.code != 3 {
		t.Fatalf("deploy: %s", r)
	}
	msgs = slack.texts(t)
	mustHave(t, "slack's start after a deploy", msgs[2], "Changes:\n- Break the app\n")
	mustHave(t, "slack's rollback", msgs[3], "Deployment of testapp to test: rolled back", "Status: rolled back", "Error: local: health: not healthy", "Hint: ")
	// An emergency deploy is announced as one.
	if r := ferryWith(t, dir, env, fast(agent.OutcomeDeployed), "deploy", "test", "--emergency", "--reason", "checkout fails for every customer"); r.code != 0 {
		t.Fatalf("emergency deploy: %s", r)
	}
	msgs = slack.texts(t)
	mustHave(t, "slack's emergency", msgs[4], "EMERGENCY deployment of testapp to test starting", "Emergency reason: checkout fails for every customer", "Responsibility taken by: Ada Tester")
	mustHave(t, "slack's end of the emergency", msgs[5], "Status: deployed", "Emergency reason: checkout fails for every customer (responsibility: Ada Tester)")
	if e := lastEnd(t, filepath.Join(dir, "srv")); e.Emergency == nil || e.Notifications[0].Event != string(notify.Emergency) || e.Outcome != record.OutcomeDeployed {
		t.Errorf("the emergency's record: %+v %+v", e.Emergency, e.Notifications)
	}
}

// In GitHub Actions the messages name who approved the run's deployment
// to the environment, as GitHub's approvals list them (approved, for
// this environment, each once), asked once for both messages; GitHub
// failing to answer sends the messages without them.
func TestNotificationsNameTheApprovers(t *testing.T) {
	t.Parallel()
	gh := githubtest.New(t)
	for _, a := range []githubtest.Approval{
		{State: "approved", Login: "grace", Environments: []string{"test"}},
		{State: "approved", Login: "bob", Environments: []string{"production"}},
		{State: "rejected", Login: "carol", Environments: []string{"test"}},
		{State: "approved", Login: "alice", Environments: []string{"staging", "test"}},
		{State: "approved", Login: "grace", Environments: []string{"test"}},
	} {
		gh.AddApproval(7, a)
	}
	webhook := newHook(t, 0)
	dir, _ := fakeProject(t, fakeConfig+"notify:\n  - {webhook: {url_env: DEPLOY_HOOK_URL}}\n")
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": githubtest.Token, "GITHUB_API_URL": gh.URL, "GITHUB_REF_NAME": "main",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/testapp", "GITHUB_RUN_ID": "7",
		"FERRY_GITHUB_DEPLOYMENT": "actions", "DEPLOY_HOOK_URL": webhook.srv.URL + "/hook",
	}
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "test", "--skip-gates"); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	approvers := func(i int) string {
		webhook.mu.Lock()
		defer webhook.mu.Unlock()
		var m struct {
			Event     string   `json:"event"`
			Approvers []string `json:"approvers"`
		}
		if err := json.Unmarshal(webhook.bodies[i], &m); err != nil {
			t.Fatal(err)
		}
		return m.Event + ": " + strings.Join(m.Approvers, ",")
	}
	if got := approvers(0) + " | " + approvers(1); got != "start: alice,grace | success: alice,grace" {
		t.Errorf("approvers %q, want alice and grace in both messages", got)
	}
	asked := 0
	for _, r := range gh.Requests() {
		if strings.HasSuffix(r.Path, "/actions/runs/7/approvals") {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("the approvals were asked %d times, want once", asked)
	}

	// GitHub down: the messages go without approvers.
	webhook = newHook(t, 0)
	env["DEPLOY_HOOK_URL"] = webhook.srv.URL + "/hook"
	gh.FailNext("GET /repos/acme/testapp/actions/runs/7/approvals", http.StatusBadGateway)
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "test", "--skip-gates"); r.code != 0 {
		t.Fatalf("deploy with GitHub down: %s", r)
	}
	if got := approvers(0) + " | " + approvers(1); got != "start:  | success: " {
		t.Errorf("approvers with GitHub down %q, want none", got)
	}
}
