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
	if err := e.notifier.Start(context.Background()); err != nil {
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
	e := newEnv(t, func(o *notify.Options) { o.Provider = p; o.RetryPolicy = laterRetry{} })
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
	prod := config.Config{Env: config.Production, MailProvider: "outbox"}
	if _, err := notify.ProviderFor(prod, e.db.Gorm, nil); err == nil {
		t.Error("the outbox was accepted in production")
	}
	prod.MailProvider, prod.SMTPHost, prod.SMTPTLS, prod.MailFrom = "smtp", "smtp.example.org", "starttls", "Portal <no-reply@example.org>"
	p, err := notify.ProviderFor(prod, e.db.Gorm, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Send(context.Background(), notify.Rendered{Channel: notify.SMS, To: "+447700900123", Body: "b"})
	if !errors.Is(err, notify.ErrNoProvider) || err.Error() != "notify: no SMS provider configured" {
		t.Errorf("SMS in production: %v", err)
	}
	if _, err := notify.ProviderFor(config.Config{Env: config.Development, MailProvider: "smtp", SMTPHost: "h",
		SMTPTLS: "sometimes", MailFrom: "a@example.org"}, e.db.Gorm, nil); err == nil {
		t.Error("an unknown SMTP_TLS was accepted")
	}
}
