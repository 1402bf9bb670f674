package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"portal/app/notify"
)

// delivery is one row of notify_deliveries.
type delivery struct {
	Channel, Status string
	At              time.Time
}

func deliveries(t *testing.T, e *env) []delivery {
	t.Helper()
	var out []delivery
	if err := e.db.Gorm.Raw(`SELECT channel, status, at FROM notify_deliveries ORDER BY id`).Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

var aCodeText = notify.Message{Channel: notify.SMS, To: "+447911123456", Template: "sms_code", Lang: "en",
	Data: map[string]string{"Code": "424242"}}

// TestEachOutcomeIsRecordedOnce: the worker writes a row per message the
// provider took (at the portal's clock) and per message given up on, none
// for an attempt that will be tried again or a message discarded, and
// nothing of the recipient or the words.
func TestEachOutcomeIsRecordedOnce(t *testing.T) {
	t.Run("sent after a failed attempt", func(t *testing.T) {
		p := &recorder{failures: 1, err: errors.New("provider down")}
		e := newEnv(t, func(o *notify.Options) { o.Provider = p })
		e.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		e.send(t, aCodeText)
		e.send(t, notify.Message{Channel: notify.Email, To: "a@example.org", Template: "email_verification_code",
			Data: map[string]string{"Code": "1"}, Discard: true})
		e.drain(t)
		got := deliveries(t, e)
		if len(got) != 1 || got[0].Channel != "sms" || got[0].Status != notify.DeliverySent || !got[0].At.Equal(e.clock.Now()) {
			t.Fatalf("deliveries %+v, want one text sent at the clock's time", got)
		}
	})
	t.Run("given up after the last attempt", func(t *testing.T) {
		p := &recorder{failures: -1, err: errors.New("provider down")}
		e := newEnv(t, func(o *notify.Options) { o.Provider = p })
		e.send(t, aCodeText)
		if err := e.notifier.Drain(context.Background()); err == nil {
			t.Fatal("Drain reported success for a text never delivered")
		}
		got := deliveries(t, e)
		if p.attempts < 2 || len(got) != 1 || got[0].Channel != "sms" || got[0].Status != notify.DeliveryFailed {
			t.Fatalf("after %d attempts: deliveries %+v, want one text failed", p.attempts, got)
		}
	})
	t.Run("cancelled as too old", func(t *testing.T) {
		p := &recorder{}
		e := newEnv(t, func(o *notify.Options) { o.Provider = p })
		e.send(t, notify.Message{Channel: notify.Voice, To: "+442079460001", Template: "voice_sign_in", Lang: "en", AnswerToken: "c"})
		if err := e.db.Gorm.Exec(`UPDATE river_job SET created_at = now() - interval '11 minutes'`).Error; err != nil {
			t.Fatal(err)
		}
		_ = e.notifier.Drain(context.Background())
		if got := deliveries(t, e); len(got) != 1 || got[0].Channel != "voice" || got[0].Status != notify.DeliveryFailed {
			t.Fatalf("deliveries %+v, want one call failed", got)
		}
	})
	t.Run("an attempt to be tried again is not a failure yet", func(t *testing.T) {
		p := &recorder{failures: -1, err: errors.New("provider down")}
		e := newEnvRetrying(t, laterRetry{}, func(o *notify.Options) { o.Provider = p })
		e.send(t, codeEmail)
		_ = e.notifier.Drain(context.Background())
		if got := deliveries(t, e); len(got) != 0 {
			t.Fatalf("deliveries %+v after one failed attempt of many, want none", got)
		}
	})
}
