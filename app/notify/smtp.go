package notify

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTPConfig says how to reach the mail server (SMTP_* and MAIL_FROM).
type SMTPConfig struct {
	Host     string
	Port     int
	User     string // empty: no authentication
	Password string
	// TLS is "starttls" (upgrade required, the default), "tls" (implicit
	// TLS, usually port 465) or "none" (plain text: local testing only).
	TLS  string
	From string
}

// SMTP delivers email through an SMTP server with go-mail. It opens one
// connection per message: the queue sends a handful per minute, and a fresh
// connection never carries a previous failure's state.
type SMTP struct {
	from   string
	domain string // of the From address: the right-hand side of Message-IDs
	opts   []mail.Option
	host   string
}

// NewSMTP checks cfg and returns the provider.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("notify: SMTP_HOST is required")
	}
	if cfg.From == "" {
		return nil, fmt.Errorf("notify: MAIL_FROM is required")
	}
	// Check the sender once here, so a typo fails at start, not in the queue.
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("notify: MAIL_FROM: %w", err)
	}
	opts := []mail.Option{mail.WithTimeout(30 * time.Second)}
	if cfg.Port != 0 {
		opts = append(opts, mail.WithPort(cfg.Port))
	}
	switch cfg.TLS {
	case "", "starttls":
		// Security: refuse to send when the server does not offer STARTTLS,
		// rather than fall back to plain text.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return nil, fmt.Errorf("notify: SMTP_TLS must be starttls, tls or none, not %q", cfg.TLS)
	}
	if cfg.User != "" {
		// Auto-discovery picks the strongest mechanism the server offers and
		// will not send PLAIN over an unencrypted connection.
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.User), mail.WithPassword(cfg.Password))
	}
	domain := "localhost"
	if addr, err := netmail.ParseAddress(cfg.From); err == nil {
		if _, d, ok := strings.Cut(addr.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return &SMTP{from: cfg.From, domain: domain, opts: opts, host: cfg.Host}, nil
}

// Send delivers an email as plain text; other channels are refused.
func (s *SMTP) Send(ctx context.Context, r Rendered) error {
	if r.Channel != Email {
		return fmt.Errorf("notify: the SMTP provider sends email, not %s", r.Channel)
	}
	m := mail.NewMsg()
	if err := m.From(s.from); err != nil {
		return fmt.Errorf("notify: smtp from: %w", err)
	}
	if err := m.To(r.To); err != nil {
		return fmt.Errorf("notify: smtp recipient is not an email address")
	}
	m.Subject(r.Subject)
	m.SetBodyString(mail.TypeTextPlain, r.Body)
	if r.Reference != "" {
		// The same Message-ID on every attempt at one queued message, so a
		// receiving server that took an attempt whose answer we lost can
		// drop the retry as a duplicate (RFC 5322 3.6.4).
		m.SetMessageIDWithValue(r.Reference + "@" + s.domain)
	} else {
		m.SetMessageID()
	}
	m.SetDate()
	// Tells mail servers and autoresponders this is a machine's message, so
	// out-of-office replies do not come back to no-reply.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("notify: smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return smtpFailure(fmt.Errorf("notify: smtp send: %w", err))
	}
	return nil
}

// smtpFailure classifies a failed send. Only a permanent (5xx) refusal of
// the recipient is given up at once: the address will be refused again.
// Every other refusal (451 try later, 554 at the greeting or after the
// data, a relay that refuses us for now) is retried with backoff for the
// days River tries an email: a mail server misconfigured for an hour must
// not lose the hour's emails.
func smtpFailure(err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return err // no answer at all: ReasonOf finds the timeout or the network error
	}
	if se.Reason == mail.ErrSMTPRcptTo && !se.IsTemp() && se.ErrorCode() >= 500 {
		return &ProviderError{Reason: ReasonRefused, Permanent: true, Err: err}
	}
	return &ProviderError{Reason: ReasonUnavailable, Err: err}
}
