package notify_test

import (
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/testing/smtptest"
)

func emailChannel(s *smtptest.Server) (notify.Channel, map[string]string) {
	return notify.Channel{Email: &notify.Email{
			SMTP: s.Addr, From: "Deploys <deploy@example.com>", To: []string{"ops@example.com", "Release Team <release@example.com>"},
			UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD",
		}}, map[string]string{
			"SMTP_USER": s.User, "SMTP_PASSWORD": s.Password,
		}
}

func tlsTo(s *smtptest.Server) *tls.Config { return &tls.Config{RootCAs: s.RootCAs} }

// Mail through a real SMTP server (aiosmtpd): STARTTLS, then PLAIN auth,
// then a message whose headers and body are read back.
func TestEmailThroughRealSMTP(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	ch, env := emailChannel(s)
	o := fastOptions(env, nil)
	o.TLSConfig = tlsTo(s)
	n := newNotifier(t, []notify.Channel{ch}, o)
	m := postMessage(notify.Failure)
	m.Changes = append(m.Changes, "Übersetzung korrigiert")
	if r := sendOne(t, n, m); !r.Delivered || r.Attempts != 1 || r.Target != s.Addr {
		t.Fatalf("result %+v", r)
	}
	msgs := s.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages received", len(msgs))
	}
	got := msgs[0]
	if !got.TLS || got.Login != s.User {
		t.Errorf("session: tls %v, login %q; want STARTTLS and the configured login", got.TLS, got.Login)
	}
	if got.MailFrom != "deploy@example.com" || strings.Join(got.RcptTos, ",") != "ops@example.com,release@example.com" {
		t.Errorf("envelope from %q to %v", got.MailFrom, got.RcptTos)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatalf("the received mail does not parse: %v\n%s", err, got.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"From":                      `"Deploys" <deploy@example.com>`,
		"To":                        `<ops@example.com>, "Release Team" <release@example.com>`,
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
		"X-Ferry-Event":             "failure",
		"Date":                      "Tue, 01 Dec 2026 09:00:00 +0000",
		"Mime-Version":              "1.0",
	} {
		if v := msg.Header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if subject != "Deployment of billing to production: failed" {
		t.Errorf("subject %q", subject)
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ".failure@ferry>") {
		t.Errorf("Message-ID %q", id)
	}
	// net/mail leaves the transfer encoding; undo it as a mail client does.
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := "Deployment of billing to production: failed\r\n\r\n" + strings.ReplaceAll(wantFailureBody, "\n", "\r\n") + "\r\n"
	if string(body) != want {
		t.Errorf("body:\n%q\nwant:\n%q", body, want)
	}
	// The pre-deployment mail carries the changes, non-ASCII intact.
	pre := preMessage()
	pre.Changes = []string{"Übersetzung korrigiert"}
	sendOne(t, n, pre)
	msgs = s.Messages(t)
	msg, _ = mail.ReadMessage(strings.NewReader(msgs[1].Data))
	body, _ = io.ReadAll(quotedprintable.NewReader(msg.Body))
	if !strings.Contains(string(body), "- Übersetzung korrigiert\r\n") || !strings.Contains(string(body), "Expected duration: about 3m\r\n") {
		t.Errorf("pre body:\n%s", body)
	}
}

// A server without STARTTLS gets neither the password nor the mail, even
// though it offers AUTH in clear text (and net/smtp would allow PLAIN to a
// loopback server).
func TestEmailRefusesWithoutSTARTTLS(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{NoTLS: true})
	ch, env := emailChannel(s)
	var l logs
	n := newNotifier(t, []notify.Channel{ch}, fastOptions(env, &l))
	r := sendOne(t, n, preMessage())
	if r.Delivered || r.Attempts != 1 || !strings.Contains(r.Error, "does not offer STARTTLS") {
		t.Errorf("result %+v", r)
	}
	if a := s.AuthAttempts(t); len(a) != 0 {
		t.Errorf("AUTH was sent without TLS: %+v", a)
	}
	if len(s.Messages(t)) != 0 {
		t.Errorf("mail was sent without TLS")
	}
}

// A refused login is permanent: one attempt, reported, password redacted.
func TestEmailBadLogin(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	ch, env := emailChannel(s)
	env["SMTP_PASSWORD"] = "wrong-password-123"
	var l logs
	o := fastOptions(env, &l)
	o.TLSConfig = tlsTo(s)
	r := sendOne(t, newNotifier(t, []notify.Channel{ch}, o), preMessage())
	if r.Delivered || r.Attempts != 1 || !strings.Contains(r.Error, "login: 535") {
		t.Errorf("result %+v", r)
	}
	if a := s.AuthAttempts(t); len(a) != 1 || a[0].Mechanism != "PLAIN" || !a[0].TLS {
		t.Errorf("auth attempts %+v, want one PLAIN over TLS", a)
	}
	if strings.Contains(r.Error+l.String(), "wrong-password-123") {
		t.Errorf("password leaked: %s %s", r.Error, l.String())
	}
}

// A certificate that does not verify stops the mail before the login.
func TestEmailUntrustedCertificate(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	ch, env := emailChannel(s)
	r := sendOne(t, newNotifier(t, []notify.Channel{ch}, fastOptions(env, nil)), preMessage())
	if r.Delivered || r.Attempts != 1 || !strings.Contains(r.Error, "STARTTLS: tls: failed to verify certificate") {
		t.Errorf("result %+v", r)
	}
	if len(s.AuthAttempts(t)) != 0 {
		t.Errorf("logged in over an unverified connection")
	}
}
