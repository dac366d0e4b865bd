package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/poll"
)

// Options tune delivery; the zero value is what ferry deploy uses.
type Options struct {
	// Getenv reads the secrets named in the config; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient posts the webhooks; nil means a client that refuses
	// redirects (a redirected POST would carry the message elsewhere).
	HTTPClient *http.Client
	// Timeout bounds one Send, every channel together; default 30s.
	Timeout time.Duration
	// AttemptTimeout bounds one try of one channel; default 10s.
	AttemptTimeout time.Duration
	// Attempts is how many tries a channel gets; default 4.
	Attempts int
	// Backoff is the wait between tries; default 1s doubling to 8s, ±20%.
	// Its Deadline is ignored: Timeout bounds the whole.
	Backoff poll.Backoff
	// TLSConfig is the base for SMTP's STARTTLS (tests set RootCAs);
	// ServerName is always the SMTP host.
	TLSConfig *tls.Config
	// Hostname is the name given in SMTP's EHLO; default this host's name.
	Hostname string
	// Now dates webhook signatures and mails; nil means time.Now.
	Now func() time.Time
	// Logf receives one line per failed attempt, secrets redacted; nil
	// discards them.
	Logf func(format string, args ...any)
}

// Notifier sends a deployment's messages to the configured channels.
type Notifier struct {
	opts     Options
	channels []*channel
}

// channel is one configured destination, ready to send.
type channel struct {
	index  int
	kind   string
	label  string // how results name it: "slack ($SLACK_WEBHOOK_URL)"
	on     []Event
	tmpl   compiled
	redact redactor
	// missing is set when a secret is not in the environment: every send
	// reports it instead of trying.
	missing error
	send    func(ctx context.Context, d *delivery) error
}

// delivery is one message for one channel: rendered, with an ID that
// stays the same across retries so receivers can drop duplicates.
type delivery struct {
	ID          string
	Msg         *Message
	Title, Body string
}

// Result is how one channel's delivery went; the caller records it. A
// failed delivery never fails a deployment.
type Result struct {
	// Channel is the kind (slack, teams, webhook, email); Index its place
	// in the notify list; Target what it names (the variable, the server).
	Channel   string `json:"channel"`
	Index     int    `json:"index"`
	Target    string `json:"target"`
	Event     Event  `json:"event"`
	Delivered bool   `json:"delivered"`
	Attempts  int    `json:"attempts"`
	// Error says why it was not delivered, secrets redacted.
	Error string `json:"error,omitempty"`
	// Warning is set when the channel's template failed on this message
	// and the default one was used instead.
	Warning string `json:"warning,omitempty"`
}

func (r Result) String() string {
	s := fmt.Sprintf("notify[%d] %s %s: ", r.Index, r.Channel, r.Target)
	if r.Delivered {
		s += fmt.Sprintf("%s delivered", r.Event)
	} else {
		s += fmt.Sprintf("%s not delivered: %s", r.Event, r.Error)
	}
	if r.Delivered && r.Attempts > 1 {
		s += fmt.Sprintf(" (%d attempts)", r.Attempts)
	}
	return s
}

// New prepares the channels. A mistake in the config is a usage error
// (Validate's problems); a secret missing from the environment is not:
// that channel reports it on every Send and the deployment goes on.
func New(channels []Channel, opts Options) (*Notifier, error) {
	if ps := Validate(channels); len(ps) > 0 {
		errs := make([]error, len(ps))
		for i, p := range ps {
			errs[i] = fail.Usage(errors.New(p.Error()), p.Hint)
		}
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, fail.Usage(errors.Join(errs...))
	}
	opts = opts.withDefaults()
	n := &Notifier{opts: opts}
	for i, c := range channels {
		ch := &channel{index: i, kind: c.Kind()}
		for _, s := range c.On {
			e, _ := validEvent(s)
			ch.on = append(ch.on, e)
		}
		ch.tmpl, _ = compileTemplates(c.Templates.Pre, c.Templates.Post)
		switch ch.kind {
		case "slack":
			n.httpChannel(ch, c.Slack.URLEnv, "", slackPayload)
		case "teams":
			n.httpChannel(ch, c.Teams.URLEnv, "", teamsPayload)
		case "webhook":
			n.httpChannel(ch, c.Webhook.URLEnv, c.Webhook.SecretEnv, webhookPayload)
		case "email":
			n.emailChannel(ch, c.Email)
		}
		n.channels = append(n.channels, ch)
	}
	return n, nil
}

func (o Options) withDefaults() Options {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("the webhook answered with a redirect; ferry does not follow it")
		}}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 10 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff == (poll.Backoff{}) {
		o.Backoff = poll.Backoff{Initial: time.Second, Max: 8 * time.Second, Factor: 2, Jitter: 0.2}
	}
	o.Backoff.Deadline = 0
	if o.Hostname == "" {
		o.Hostname = "localhost"
		if h, err := os.Hostname(); err == nil && hostName.MatchString(h) {
			o.Hostname = h
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$`)

// Send delivers m to every channel that wants its event, concurrently,
// and returns when all are done or Options.Timeout has passed. It never
// fails: each channel's outcome is a Result. To still notify after Ctrl-C
// has cancelled the deployment, pass context.WithoutCancel(ctx).
func (n *Notifier) Send(ctx context.Context, m Message) []Result {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	id := newID()
	var wanted []*channel
	for _, ch := range n.channels {
		if m.Event.wanted(ch.on) {
			wanted = append(wanted, ch)
		}
	}
	results := make([]Result, len(wanted))
	var wg sync.WaitGroup
	for i, ch := range wanted {
		wg.Go(func() { results[i] = n.deliver(ctx, ch, &m, id) })
	}
	wg.Wait()
	return results
}

// errPermanent marks failures that another try cannot fix (a 4xx answer,
// a refused login, no STARTTLS).
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

func permanent(err error) error { return errPermanent{err} }

// errRetryAfter is a failure the server said to retry after a while (429).
type errRetryAfter struct {
	error
	after time.Duration
}

func (e errRetryAfter) Unwrap() error { return e.error }

func (n *Notifier) deliver(ctx context.Context, ch *channel, m *Message, id string) Result {
	res := Result{Channel: ch.kind, Index: ch.index, Target: ch.label, Event: m.Event}
	if ch.missing != nil {
		res.Error = ch.missing.Error()
		n.opts.Logf("%s", res)
		return res
	}
	title, body, err := ch.tmpl.render(m)
	if err != nil {
		res.Warning = ch.redact.String(fmt.Sprintf("the template failed (%v); the default one was used", err))
		def, _ := compileTemplates("", "")
		if title, body, err = def.render(m); err != nil {
			res.Error = ch.redact.String("render: " + err.Error())
			return res
		}
	}
	d := &delivery{ID: id, Msg: m, Title: title, Body: body}
	var last error
	err = poll.Until(ctx, n.opts.Backoff, func(ctx context.Context) (bool, error) {
		res.Attempts++
		actx, cancel := context.WithTimeout(ctx, n.opts.AttemptTimeout)
		err := ch.send(actx, d)
		cancel()
		if err == nil {
			return true, nil
		}
		last = err
		n.opts.Logf("notify[%d] %s %s: attempt %d: %s", ch.index, ch.kind, ch.label, res.Attempts, ch.redact.String(err.Error()))
		var p errPermanent
		if errors.As(err, &p) || res.Attempts >= n.opts.Attempts {
			return false, err
		}
		var ra errRetryAfter
		if errors.As(err, &ra) && ra.after > 0 {
			// The server asked for this pause; the backoff's wait follows it.
			if poll.Sleep(ctx, ra.after) != nil {
				return false, ctx.Err()
			}
		}
		return false, nil
	})
	if err == nil {
		res.Delivered = true
		return res
	}
	msg := err.Error()
	if last != nil {
		msg = last.Error()
	}
	switch {
	case errors.As(last, new(errPermanent)):
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg += fmt.Sprintf(" (gave up at the %s bound for notifications)", n.opts.Timeout)
	case ctx.Err() != nil:
		msg += " (cancelled)"
	}
	if res.Attempts > 1 && ctx.Err() == nil {
		msg += fmt.Sprintf(" (after %d attempts)", res.Attempts)
	}
	res.Error = ch.redact.String(msg)
	n.opts.Logf("%s", res)
	return res
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}
