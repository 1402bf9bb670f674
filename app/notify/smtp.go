package notify

import (
	"context"
	"fmt"
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
	from string
	opts []mail.Option
	host string
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
	return &SMTP{from: cfg.From, opts: opts, host: cfg.Host}, nil
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
	m.SetMessageID()
	m.SetDate()
	// Tells mail servers and autoresponders this is a machine's message, so
	// out-of-office replies do not come back to no-reply.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("notify: smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("notify: smtp send: %w", err)
	}
	return nil
}
