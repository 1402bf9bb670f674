package notify

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/config"
)

// Provider hands a rendered message to whatever delivers it. An error means
// "not delivered, try again later": the queue retries it with backoff.
type Provider interface {
	Send(ctx context.Context, r Rendered) error
}

// Channels routes each channel to its own provider (SMTP for email, an SMS
// gateway for texts and calls).
type Channels map[Channel]Provider

// Send passes r to its channel's provider.
func (c Channels) Send(ctx context.Context, r Rendered) error {
	p, ok := c[r.Channel]
	if !ok || p == nil {
		return Unconfigured(r.Channel).Send(ctx, r)
	}
	return p.Send(ctx, r)
}

// Unconfigured is the provider of a channel nobody has set up yet (SMS and
// calls in production, for now). It fails every message with a clear error;
// the message stays queued and retried, so it is not lost while the
// provider is being configured.
type Unconfigured Channel

// ErrNoProvider is what Unconfigured's errors wrap.
var ErrNoProvider = errors.New("notify: no provider configured")

// Send fails with "notify: no SMS provider configured" (or voice, email).
func (u Unconfigured) Send(context.Context, Rendered) error {
	name := string(u)
	if Channel(u) == SMS {
		name = "SMS"
	}
	return noProviderError(name)
}

// noProviderError names the channel in the message River records and logs.
type noProviderError string

func (e noProviderError) Error() string { return "notify: no " + string(e) + " provider configured" }
func (e noProviderError) Unwrap() error { return ErrNoProvider }

// ProviderFor chooses the providers cfg asks for: MAIL_PROVIDER=outbox puts
// every channel in the dev outbox; MAIL_PROVIDER=smtp sends email through
// SMTP and, outside production, keeps texts and calls in the outbox. In
// production the outbox is refused outright, and texts and calls have no
// provider yet (a later issue: GOV.UK Notify).
func ProviderFor(cfg config.Config, db *gorm.DB, clk clock.Clock) (Provider, error) {
	outbox := NewOutbox(db, clk)
	switch cfg.MailProvider {
	case "", "outbox":
		if cfg.IsProduction() {
			// Security: the outbox would keep real people's codes in a table
			// and send nothing.
			return nil, errors.New("notify: MAIL_PROVIDER=outbox is refused in production")
		}
		return Channels{Email: outbox, SMS: outbox, Voice: outbox}, nil
	case "smtp":
		s, err := NewSMTP(SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, User: cfg.SMTPUser,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, From: cfg.MailFrom})
		if err != nil {
			return nil, err
		}
		if cfg.IsProduction() {
			return Channels{Email: s, SMS: Unconfigured(SMS), Voice: Unconfigured(Voice)}, nil
		}
		return Channels{Email: s, SMS: outbox, Voice: outbox}, nil
	default:
		return nil, fmt.Errorf("notify: MAIL_PROVIDER must be outbox or smtp, not %q", cfg.MailProvider)
	}
}
