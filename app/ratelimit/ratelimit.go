// Package ratelimit counts attempts in Postgres, so a limit holds across
// every app machine and survives a restart.
//
// Invariants:
//   - A limit is a fixed window: at most Max hits per key per Window; the
//     window a hit falls in is decided by the injected clock.
//   - The count and the check are one atomic statement (an upsert), so two
//     machines racing cannot both take the last slot.
//   - Keys name what is limited and by what ("signin:ip:203.0.113.9"); they
//     must not carry personal data in clear: callers hash emails and phone
//     numbers into the key (Key does it).
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/keyhash"
)

// Rule is one limit.
type Rule struct {
	Name   string
	Max    int
	Window time.Duration
}

// Limiter checks rules against the rate_limits table.
type Limiter struct {
	db    *gorm.DB
	clock clock.Clock
	key   []byte
}

// New returns a Limiter. key keys the hashing of personal values in keys.
func New(db *gorm.DB, clk clock.Clock, key []byte) *Limiter {
	return &Limiter{db: db, clock: clk, key: key}
}

// Key builds a limiter key from a rule and a subject, hashing the subject so
// an email or a phone number never sits in the table in clear.
func (l *Limiter) Key(r Rule, subject string) string {
	return r.Name + ":" + keyhash.Hex(l.key, "ratelimit", subject)[:32]
}

// Allow counts one hit of subject under r and reports whether it is within
// the limit; when not, it also says when the window ends.
func (l *Limiter) Allow(ctx context.Context, r Rule, subject string) (bool, time.Time, error) {
	now := l.clock.Now()
	start := now.Truncate(r.Window)
	var hits int
	err := l.db.WithContext(ctx).Raw(`
		INSERT INTO rate_limits (key, window_start, hits) VALUES (?, ?, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		RETURNING hits`, l.Key(r, subject), start).Scan(&hits).Error
	if err != nil {
		return false, time.Time{}, fmt.Errorf("ratelimit: %w", err)
	}
	return hits <= r.Max, start.Add(r.Window), nil
}

// Spent reports, without counting a hit, whether subject has used up r in
// the current window, and when that window ends: for limits on failures,
// checked before a try and counted (Allow) only when it fails.
func (l *Limiter) Spent(ctx context.Context, r Rule, subject string) (bool, time.Time, error) {
	start := l.clock.Now().Truncate(r.Window)
	var hits int
	err := l.db.WithContext(ctx).Raw(`SELECT COALESCE(max(hits), 0) FROM rate_limits WHERE key = ? AND window_start = ?`,
		l.Key(r, subject), start).Scan(&hits).Error
	if err != nil {
		return false, time.Time{}, fmt.Errorf("ratelimit: %w", err)
	}
	return hits >= r.Max, start.Add(r.Window), nil
}

// Cleanup removes windows that ended before the longest window we use.
func (l *Limiter) Cleanup(ctx context.Context, olderThan time.Duration) error {
	return l.db.WithContext(ctx).Exec(`DELETE FROM rate_limits WHERE window_start < ?`,
		l.clock.Now().Add(-olderThan)).Error
}
