package apptest

import (
	"context"
	"regexp"
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
