package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// emailChannel sets ch up to send mail through e.SMTP with STARTTLS.
func (n *Notifier) emailChannel(ch *channel, e *Email) {
	ch.label = e.SMTP
	host, _, _ := net.SplitHostPort(e.SMTP)
	from, _ := mail.ParseAddress(e.From)
	var to []*mail.Address
	for _, s := range e.To {
		a, _ := mail.ParseAddress(s)
		to = append(to, a)
	}
	var user, pass string
	if e.UsernameEnv != "" {
		user, pass = n.opts.Getenv(e.UsernameEnv), n.opts.Getenv(e.PasswordEnv)
		var unset []string
		if user == "" {
			unset = append(unset, e.UsernameEnv)
		}
		if pass == "" {
			unset = append(unset, e.PasswordEnv)
		}
		if unset != nil {
			verb := "is"
			if len(unset) > 1 {
				verb = "are"
			}
			ch.missing = fmt.Errorf("%s %s not set", strings.Join(unset, " and "), verb)
		}
	}
	ch.redact = newRedactor(user, pass, plainAuthSecret(user, pass))
	ch.send = func(ctx context.Context, d *delivery) error {
		msg := n.mailBytes(d, from, to)
		return n.smtpSend(ctx, e.SMTP, host, user, pass, from.Address, to, msg)
	}
}

// mailBytes is the message: plain text, UTF-8, quoted-printable, with
// Auto-Submitted so vacation responders stay quiet (RFC 3834).
func (n *Notifier) mailBytes(d *delivery, from *mail.Address, to []*mail.Address) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	tos := make([]string, len(to))
	for i, a := range to {
		tos[i] = a.String()
	}
	hdr("From", from.String())
	hdr("To", strings.Join(tos, ", "))
	// The title is one line by construction; a template cannot inject
	// headers through it.
	hdr("Subject", mime.QEncoding.Encode("utf-8", strings.Join(strings.Fields(d.Title), " ")))
	hdr("Date", n.opts.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+d.ID+"."+string(d.Msg.Event)+"@ferry>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Ferry-Event", string(d.Msg.Event))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := d.Title + "\n\n" + d.Body + "\n"
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

// smtpSend is one attempt: connect, EHLO, STARTTLS (required: ferry
// sends neither a password nor a message in clear text), PLAIN auth when
// a login is configured, then the mail. net/smtp would allow PLAIN without
// TLS to localhost; ferry never does.
func (n *Notifier) smtpSend(ctx context.Context, addr, host, user, pass, from string, to []*mail.Address, msg []byte) error {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// net/smtp takes no context: the deadline and a close on cancel bound it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(n.opts.Hostname); err != nil {
		return smtpErr("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return permanent(errors.New("the server does not offer STARTTLS; ferry sends no mail and no password in clear text"))
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if n.opts.TLSConfig != nil {
		conf = n.opts.TLSConfig.Clone()
	}
	conf.ServerName = host
	if err := c.StartTLS(conf); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			return smtpErr("STARTTLS", err)
		}
		// A certificate that does not verify will not verify on retry.
		return permanent(fmt.Errorf("STARTTLS: %w", err))
	}
	if user != "" {
		if _, ok := c.TLSConnectionState(); !ok {
			return permanent(errors.New("refusing to log in without TLS"))
		}
		if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(" "+strings.ToUpper(mechs)+" ", " PLAIN ") {
			return permanent(errors.New("the server offers no PLAIN login after STARTTLS"))
		}
		if err := c.Auth(smtp.PlainAuth("", user, pass, host)); err != nil {
			return smtpErr("login", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return smtpErr("MAIL FROM", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return smtpErr("RCPT TO "+a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("end of DATA", err)
	}
	// The mail is accepted; a failed QUIT does not make it undelivered.
	c.Quit()
	return nil
}

// smtpErr classifies a reply: 5xx is permanent (a refused login, an
// unknown recipient), 4xx and network errors are worth another try.
func smtpErr(step string, err error) error {
	err = fmt.Errorf("%s: %w", step, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent(err)
	}
	return err
}
