package notify_test

import (
	"context"
	"errors"
	"testing"

	"portal/app/apptest"
	"portal/app/metrics"
	"portal/app/notify"
)

// TestDeliveriesAreCountedByChannel: each attempt the provider refuses is
// a failure of its channel, each it takes a message sent, and a text too
// old to send a failure of its own; no label says to whom.
func TestDeliveriesAreCountedByChannel(t *testing.T) {
	m := metrics.New()
	p := &recorder{failures: 1, err: errors.New("provider down")}
	e := newEnv(t, func(o *notify.Options) { o.Provider = p; o.Metrics = m })
	e.send(t, codeEmail)
	e.drain(t) // one failure, then delivered
	stale := notify.Message{Channel: notify.SMS, To: "+447911123456", Template: "sms_code", Lang: "en",
		Data: map[string]string{"Code": "424242"}}
	e.send(t, stale)
	if err := e.db.Gorm.Exec(`UPDATE river_job SET created_at = now() - interval '11 minutes' WHERE state = 'available'`).Error; err != nil {
		t.Fatal(err)
	}
	if err := e.notifier.Drain(context.Background()); err == nil {
		t.Fatal("a stale text was not cancelled")
	}

	got := apptest.Gather(t, m)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"portal_notify_sent_total", map[string]string{"channel": "email"}, 1},
		{"portal_notify_failed_total", map[string]string{"channel": "email", "reason": metrics.NotifyProvider}, 1},
		{"portal_notify_failed_total", map[string]string{"channel": "sms", "reason": metrics.NotifyExpired}, 1},
		{"portal_notify_sent_total", map[string]string{"channel": "sms"}, 0},
	} {
		if v, _ := got.Value(tc.name, tc.labels); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, v, tc.want)
		}
	}
	for _, name := range []string{"portal_notify_sent_total", "portal_notify_failed_total"} {
		for _, s := range got[name].GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() != "channel" && l.GetName() != "reason" {
					t.Errorf("%s has label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
