package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/keyhash"
)

// Lockout numbers from the council's guide (004): ten wrong tries in a row
// lock sign-in for that email for one hour.
const (
	LockoutThreshold = 10
	LockoutDuration  = time.Hour
)

// Lockout counts failed sign-ins per normalised email, whether or not an
// account exists, in Postgres so every app machine sees the same count.
type Lockout struct {
	db    *gorm.DB
	clock clock.Clock
	key   []byte
}

// NewLockout returns the lockout counter; key keys the email hashes.
func NewLockout(db *gorm.DB, clk clock.Clock, key []byte) *Lockout {
	return &Lockout{db: db, clock: clk, key: key}
}

func (l *Lockout) emailKey(email string) string {
	return keyhash.Hex(l.key, "lockout", strings.ToLower(strings.TrimSpace(email)))
}

// LockedUntil reports until when sign-in for email is locked (zero if not).
// The check is against the clock in the query, so the hour ends by itself.
func (l *Lockout) LockedUntil(ctx context.Context, email string) (time.Time, error) {
	var until *time.Time
	err := l.db.WithContext(ctx).Raw(`SELECT locked_until FROM sign_in_lockouts WHERE email_key = ? AND locked_until > ?`,
		l.emailKey(email), l.clock.Now()).Scan(&until).Error
	if err != nil || until == nil {
		return time.Time{}, err
	}
	return *until, nil
}

// Fail records one failure and reports whether this one locked the email.
func (l *Lockout) Fail(ctx context.Context, email string) (bool, error) {
	now := l.clock.Now()
	var failures int
	err := l.db.WithContext(ctx).Raw(`
		INSERT INTO sign_in_lockouts (email_key, failures, updated_at) VALUES (?, 1, ?)
		ON CONFLICT (email_key) DO UPDATE SET
			failures = CASE WHEN sign_in_lockouts.locked_until IS NOT NULL THEN 1 ELSE sign_in_lockouts.failures + 1 END,
			locked_until = NULL, updated_at = EXCLUDED.updated_at
		RETURNING failures`, l.emailKey(email), now).Scan(&failures).Error
	if err != nil {
		return false, fmt.Errorf("lockout: fail: %w", err)
	}
	if failures < LockoutThreshold {
		return false, nil
	}
	err = l.db.WithContext(ctx).Exec(`UPDATE sign_in_lockouts SET locked_until = ?, failures = 0 WHERE email_key = ?`,
		now.Add(LockoutDuration), l.emailKey(email)).Error
	return err == nil, err
}

// Succeed clears the count, and any lock, after a right password or a
// completed password reset (its emailed code proves the owner, so the
// lockout message may offer it).
func (l *Lockout) Succeed(ctx context.Context, email string) error {
	return l.db.WithContext(ctx).Exec(`DELETE FROM sign_in_lockouts WHERE email_key = ?`, l.emailKey(email)).Error
}
