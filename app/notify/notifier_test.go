package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"portal/app/config"
	"portal/app/notify"
)

var codeEmail = notify.Message{Channel: notify.Email, To: "carer@example.org", Template: "email_verification_code",
	Lang: "en", Data: map[string]string{"Code": "424242"}}

func TestAProviderThatFailsTwiceStillDelivers(t *testing.T) {
	p := &recorder{failures: 2, err: errors.New("provider down")}
	e := newEnv(t, func(o *notify.Options) { o.Provider = p })
	e.send(t, codeEmail)
	if err := e.queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Poll for the result (bounded); nothing here waits for a deadline.
	deadline := time.Now().Add(20 * time.Second)
	for len(p.delivered()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := p.delivered()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages after %d attempts, want 1", len(got), p.attempts)
	}
	if p.attempts != 3 {
		t.Errorf("attempts = %d, want 3 (two failures, one success)", p.attempts)
	}
	if got[0].To != codeEmail.To || !strings.Contains(got[0].Body, "424242") {
		t.Errorf("delivered %+v", got[0])
	}
	// Drain on a started notifier waits for nothing and reports no failure.
	e.drain(t)
}

func TestDrainWorksTheQueueWhenTheAppHasNotStartedIt(t *testing.T) {
	p := &recorder{failures: 1, err: errors.New("provider down")}
	e := newEnv(t, func(o *notify.Options) { o.Provider = p })
	e.send(t, codeEmail)
	if len(p.delivered()) != 0 {
		t.Fatal("delivered before the queue was worked")
	}
	e.drain(t)
	if len(p.delivered()) != 1 || p.attempts != 2 {
		t.Fatalf("delivered %d in %d attempts, want 1 in 2", len(p.delivered()), p.attempts)
	}
	// Drain stopped the queue again: the next message waits for the next Drain.
	e.send(t, codeEmail)
	e.drain(t)
	if len(p.delivered()) != 2 {
		t.Fatalf("delivered %d, want 2", len(p.delivered()))
	}
}

func TestAFailedMessageStaysQueuedAndNeverQuotesTheRecipient(t *testing.T) {
	p := &recorder{failures: -1, err: errors.New("550 mailbox carer@example.org unavailable")}
	e := newEnvRetrying(t, laterRetry{}, func(o *notify.Options) { o.Provider = p })
	e.send(t, codeEmail)
	err := e.notifier.Drain(context.Background())
	if err == nil {
		t.Fatal("Drain reported success for an undelivered message")
	}
	if strings.Contains(err.Error(), "carer@example.org") || !strings.Contains(err.Error(), "[recipient]") {
		t.Errorf("error %q should name [recipient], not the address", err)
	}
	var state, args, errs string
	if err := e.db.Pool.QueryRow(context.Background(),
		`SELECT state::text, args::text, errors::text FROM river_job WHERE kind = 'notify.send'`).Scan(&state, &args, &errs); err != nil {
		t.Fatal(err)
	}
	if state != "retryable" {
		t.Errorf("job state %q, want retryable (kept, to be tried again)", state)
	}
	for _, secret := range []string{"carer@example.org", "424242"} {
		if strings.Contains(args, secret) || strings.Contains(errs, secret) {
			t.Errorf("river_job holds %q in clear", secret)
		}
	}
}

func TestSendRefusesABadMessageAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		m    notify.Message
	}{
		{"unknown channel", notify.Message{Channel: "fax", To: "x", Template: "fax_x"}},
		{"no recipient", notify.Message{Channel: notify.Email, Template: "email_verification_code", Data: map[string]string{"Code": "1"}}},
		{"unknown template", notify.Message{Channel: notify.Email, To: "a@example.org", Template: "email_nothing"}},
		{"template of another channel", notify.Message{Channel: notify.Email, To: "a@example.org", Template: "sms_code", Data: map[string]string{"Code": "1"}}},
		{"missing code", notify.Message{Channel: notify.SMS, To: "+447700900123", Template: "sms_code"}},
		{"a call without answer token", notify.Message{Channel: notify.Voice, To: "+447700900123", Template: "voice_sign_in"}},
		{"an email with an answer token", notify.Message{Channel: notify.Email, To: "a@example.org", Template: "email_verification_code", Data: map[string]string{"Code": "1"}, AnswerToken: "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.notifier.Send(context.Background(), nil, tc.m); !errors.Is(err, notify.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d jobs queued for refused messages", n)
	}
}

func TestProvidersFollowTheEnvironment(t *testing.T) {
	e := newEnv(t, nil)
	smtp := func(c *config.Config) {
		c.MailProvider, c.SMTPHost, c.SMTPTLS, c.MailFrom = "smtp", "smtp.example.org", "starttls", "Portal <no-reply@example.org>"
	}
	twilio := func(c *config.Config) {
		c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom, c.BaseURL = twilioSID, twilioToken, twilioFrom, baseURL
	}
	allReal := func(c *config.Config) {
		smtp(c)
		twilio(c)
		c.SMSProvider, c.VoiceProvider = "twilio", "twilio"
	}
	for _, tc := range []struct {
		name   string
		env    string
		change func(*config.Config)
		want   string // part of the error; empty: accepted
	}{
		{"development keeps everything in the outbox", config.Development, func(*config.Config) {}, ""},
		{"production refuses the outbox for email", config.Production, func(c *config.Config) { allReal(c); c.MailProvider = "outbox" },
			"MAIL_PROVIDER=outbox is refused in production"},
		{"production refuses the outbox for texts", config.Production, func(c *config.Config) { allReal(c); c.SMSProvider = "" },
			"SMS_PROVIDER=outbox is refused in production"},
		{"production refuses the outbox for calls", config.Production, func(c *config.Config) { allReal(c); c.VoiceProvider = "outbox" },
			"VOICE_PROVIDER=outbox is refused in production"},
		{"production with real providers for every channel", config.Production, allReal, ""},
		{"texts through Notify", config.Production, func(c *config.Config) {
			allReal(c)
			c.SMSProvider, c.NotifyAPIKey, c.NotifySMSTemplateID = "notify", notifyKey, notifyTemplate
		}, ""},
		{"a malformed Notify key", config.Development, func(c *config.Config) {
			c.SMSProvider, c.NotifyAPIKey, c.NotifySMSTemplateID = "notify", "not-a-key", notifyTemplate
		}, "NOTIFY_API_KEY must be"},
		{"Notify makes no calls", config.Development, func(c *config.Config) { c.VoiceProvider = "notify" },
			`VOICE_PROVIDER must be outbox or twilio, not "notify"`},
		{"Twilio without its token", config.Development, func(c *config.Config) {
			twilio(c)
			c.SMSProvider, c.TwilioAuthToken = "twilio", ""
		}, "TWILIO_AUTH_TOKEN is required"},
		{"an unknown SMTP_TLS", config.Development, func(c *config.Config) { smtp(c); c.SMTPTLS = "sometimes" },
			"SMTP_TLS must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Config{Env: tc.env}
			tc.change(&cfg)
			p, err := notify.ProviderFor(cfg, e.db.Gorm, nil, bundle(t))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ch, ok := p.(notify.Channels)
			if !ok || len(ch) != 3 {
				t.Fatalf("provider %T %v, want a provider for each of the three channels", p, p)
			}
			for c, prov := range ch {
				if _, isOutbox := prov.(*notify.Outbox); isOutbox == (tc.env == config.Production) {
					t.Errorf("%s: %T in %s", c, prov, tc.env)
				}
			}
		})
	}
	t.Run("a channel nobody configured fails clearly", func(t *testing.T) {
		err := notify.Channels{}.Send(context.Background(), notify.Rendered{Channel: notify.SMS, To: "+447700900123", Body: "b"})
		if !errors.Is(err, notify.ErrNoProvider) || err.Error() != "notify: no SMS provider configured" {
			t.Errorf("got %v", err)
		}
	})
}

func TestRenderedKeepsTheLanguageItWasWrittenIn(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ name, lang, want string }{
		{"Welsh stays Welsh", "cy", "cy"},
		{"English stays English", "en", "en"},
		{"an unknown language falls back to English", "fr", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.notifier.Render(notify.Message{Channel: notify.Voice, To: "+441632960001", Template: "voice_sign_in",
				Lang: tc.lang, AnswerToken: "challenge-1"})
			if err != nil || r.Lang != tc.want {
				t.Fatalf("Lang = %q (%v), want %q", r.Lang, err, tc.want)
			}
		})
	}
}

func TestATextOrCallOlderThanItsCodeIsCancelledNotSentLate(t *testing.T) {
	for _, m := range []notify.Message{
		{Channel: notify.SMS, To: "+447911123456", Template: "sms_code", Lang: "en", Data: map[string]string{"Code": "424242"}},
		{Channel: notify.Voice, To: "+442079460001", Template: "voice_sign_in", Lang: "en", AnswerToken: "challenge"},
	} {
		t.Run("channel="+string(m.Channel), func(t *testing.T) {
			p := &recorder{}
			e := newEnv(t, func(o *notify.Options) { o.Provider = p })
			e.send(t, m)
			// Queued while the provider was down for eleven minutes.
			if err := e.db.Gorm.Exec(`UPDATE river_job SET created_at = now() - interval '11 minutes'`).Error; err != nil {
				t.Fatal(err)
			}
			err := e.notifier.Drain(context.Background())
			if err == nil || len(p.delivered()) != 0 {
				t.Fatalf("a stale %s: Drain = %v, delivered %d; want it cancelled", m.Channel, err, len(p.delivered()))
			}
			var attempts int
			e.db.Gorm.Raw(`SELECT max_attempts FROM river_job`).Scan(&attempts)
			if attempts > 5 {
				t.Fatalf("a %s is tried %d times, want a few", m.Channel, attempts)
			}
		})
	}
}
