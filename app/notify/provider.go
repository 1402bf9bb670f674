package notify

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/config"
	"portal/app/i18n"
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

// Unconfigured is the provider of a channel missing from a Channels map. It
// fails every message with a clear error; the message stays queued and
// retried, so it is not lost while the provider is being configured.
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

// ProviderFor chooses each channel's provider as cfg asks: MAIL_PROVIDER
// (outbox or smtp) for email, SMS_PROVIDER (outbox, notify or twilio) for
// texts, VOICE_PROVIDER (outbox or twilio) for calls. The outbox is refused
// in production for every channel. bundle holds the words a call adds
// around its message (locales/notify.*.toml).
func ProviderFor(cfg config.Config, db *gorm.DB, clk clock.Clock, bundle *i18n.Bundle) (Provider, error) {
	outbox := NewOutbox(db, clk)
	email, err := emailProvider(cfg, outbox)
	if err != nil {
		return nil, err
	}
	sms, err := smsProvider(cfg, outbox, bundle)
	if err != nil {
		return nil, err
	}
	voice, err := voiceProvider(cfg, outbox, bundle)
	if err != nil {
		return nil, err
	}
	return Channels{Email: email, SMS: sms, Voice: voice}, nil
}

func emailProvider(cfg config.Config, outbox *Outbox) (Provider, error) {
	switch cfg.MailProvider {
	case "", "outbox":
		return devOutbox(cfg, "MAIL_PROVIDER", outbox)
	case "smtp":
		return NewSMTP(SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, User: cfg.SMTPUser,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, From: cfg.MailFrom})
	default:
		return nil, fmt.Errorf("notify: MAIL_PROVIDER must be outbox or smtp, not %q", cfg.MailProvider)
	}
}

func smsProvider(cfg config.Config, outbox *Outbox, bundle *i18n.Bundle) (Provider, error) {
	switch cfg.SMSProvider {
	case "", "outbox":
		return devOutbox(cfg, "SMS_PROVIDER", outbox)
	case "notify":
		return NewGovUKNotify(GovUKNotifyConfig{APIBase: cfg.NotifyBaseURL, APIKey: cfg.NotifyAPIKey,
			TemplateID: cfg.NotifySMSTemplateID})
	case "twilio":
		return NewTwilio(twilioConfig(cfg, bundle))
	default:
		return nil, fmt.Errorf("notify: SMS_PROVIDER must be outbox, notify or twilio, not %q", cfg.SMSProvider)
	}
}

func voiceProvider(cfg config.Config, outbox *Outbox, bundle *i18n.Bundle) (Provider, error) {
	switch cfg.VoiceProvider {
	case "", "outbox":
		return devOutbox(cfg, "VOICE_PROVIDER", outbox)
	case "twilio":
		return NewTwilio(twilioConfig(cfg, bundle))
	default:
		// GOV.UK Notify sends texts but makes no calls.
		return nil, fmt.Errorf("notify: VOICE_PROVIDER must be outbox or twilio, not %q", cfg.VoiceProvider)
	}
}

func twilioConfig(cfg config.Config, bundle *i18n.Bundle) TwilioConfig {
	return TwilioConfig{APIBase: cfg.TwilioBaseURL, AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken,
		From: cfg.TwilioFrom, PortalBase: cfg.BaseURL, Bundle: bundle}
}

// devOutbox returns the outbox for a channel whose variable chose it, or
// refuses it in production.
func devOutbox(cfg config.Config, variable string, outbox *Outbox) (Provider, error) {
	if cfg.IsProduction() {
		// Security: the outbox would keep real people's codes in a table
		// and send nothing.
		return nil, fmt.Errorf("notify: %s=outbox is refused in production", variable)
	}
	return outbox, nil
}
