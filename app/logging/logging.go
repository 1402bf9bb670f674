// Package logging builds the portal's structured logger.
//
// Invariants:
//   - No personal data reaches a log line: attributes whose key names a
//     personal or secret value are replaced, and any string value is
//     scrubbed of email addresses, phone numbers and 6-digit codes before
//     it is written. Handlers should not log such values at all; this is the
//     net under them (a canary test proves it).
package logging

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// New returns a JSON logger at level that redacts personal data.
func New(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	return slog.New(&redactor{next: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: replace})})
}

const redacted = "[redacted]"

// sensitiveKeys are attribute keys whose values are never logged.
var sensitiveKeys = []string{"email", "phone", "password", "code", "token", "name", "address", "body", "subject", "secret", "dsn", "cookie"}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	phoneRe = regexp.MustCompile(`\+?\d[\d \-]{8,}\d`)
	codeRe  = regexp.MustCompile(`\b\d{6}\b`)
)

// Scrub removes emails, phone numbers and codes from s.
func Scrub(s string) string {
	s = emailRe.ReplaceAllString(s, redacted)
	s = phoneRe.ReplaceAllString(s, redacted)
	return codeRe.ReplaceAllString(s, redacted)
}

// keptWhole are attributes the portal itself makes, never from a person:
// scrubbing could only mask them (a request id people are asked to quote).
var keptWhole = map[string]bool{"request_id": true}

func replace(groups []string, a slog.Attr) slog.Attr {
	if keptWhole[a.Key] {
		return a
	}
	key := strings.ToLower(a.Key)
	for _, k := range sensitiveKeys {
		if strings.Contains(key, k) {
			return slog.String(a.Key, redacted)
		}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
	}
	return a
}

// redactor scrubs the message itself; attributes go through replace.
type redactor struct{ next slog.Handler }

func (r *redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.next.Enabled(ctx, l) }

func (r *redactor) Handle(ctx context.Context, rec slog.Record) error {
	clean := slog.NewRecord(rec.Time, rec.Level, Scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool { clean.AddAttrs(a); return true })
	return r.next.Handle(ctx, clean)
}

func (r *redactor) WithAttrs(as []slog.Attr) slog.Handler {
	return &redactor{next: r.next.WithAttrs(as)}
}

func (r *redactor) WithGroup(name string) slog.Handler {
	return &redactor{next: r.next.WithGroup(name)}
}
