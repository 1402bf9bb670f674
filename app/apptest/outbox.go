package apptest

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
)

// Sent is one message as the dev outbox holds it.
type Sent struct {
	To, Subject, Body string
}

// sixDigits finds a sign-in or verification code in a message body.
var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// Code is the 6-digit code in the message, or "".
func (s Sent) Code() string { return sixDigits.FindString(s.Body) }

// LastSent runs every queued notification, then returns the newest message
// on channel ("email", "sms", "voice"), to recipient when it is not empty.
func (a *TestApp) LastSent(t testing.TB, channel, recipient string) Sent {
	t.Helper()
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := a.DB.Gorm.Table("outbox_messages").Select("recipient, subject, body").Where("channel = ?", channel)
	if recipient != "" {
		q = q.Where("recipient = ?", recipient)
	}
	var s Sent
	if err := q.Order("id DESC").Limit(1).Row().Scan(&s.To, &s.Subject, &s.Body); err != nil {
		t.Fatalf("no %s to %q in the outbox: %v", channel, recipient, err)
	}
	return s
}

// LastCallID runs the queue and returns the outbox id of the newest call
// (to recipient when it is not empty).
func (a *TestApp) LastCallID(t testing.TB, recipient string) int64 {
	t.Helper()
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := a.DB.Gorm.Table("outbox_messages").Select("id").Where("channel = 'voice'")
	if recipient != "" {
		q = q.Where("recipient = ?", recipient)
	}
	var id int64
	if err := q.Order("id DESC").Limit(1).Row().Scan(&id); err != nil {
		t.Fatalf("no call to %q in the outbox: %v", recipient, err)
	}
	return id
}

// AnswerCall answers the outbox's call id and presses digits, through the
// dev outbox's answer button: the same hook a voice provider's signed
// callback reaches.
func (a *TestApp) AnswerCall(t testing.TB, id int64, digits string) {
	t.Helper()
	res := a.Client(t).PostForm("/dev/outbox/"+strconv.FormatInt(id, 10)+"/answer", url.Values{"digits": {digits}})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("answering call %d = %d", id, res.StatusCode)
	}
}

// AnswerLastCall answers the newest call (to recipient when it is not
// empty) with digits.
func (a *TestApp) AnswerLastCall(t testing.TB, recipient, digits string) {
	t.Helper()
	a.AnswerCall(t, a.LastCallID(t, recipient), digits)
}
