package factors

import (
	"context"
	"fmt"
	"time"
)

// Methods are a person's ways to confirm it is them beside the phone, as
// "Sign-in methods" lists them.
type Methods struct {
	App           *time.Time // when the authenticator app was added, nil without one
	AppLastUsed   *time.Time
	Passkeys      []Passkey
	RecoveryLeft  int  // unused recovery codes
	RecoveryCodes bool // recovery codes were made (some may be used)
}

// Passkey is one passkey as its person sees it.
type Passkey struct {
	ID         int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Count is how many ways the methods give, the phone aside (recovery codes
// are a way back, not a method: the last method cannot be removed).
func (m Methods) Count() int {
	n := len(m.Passkeys)
	if m.App != nil {
		n++
	}
	return n
}

// MethodsOf reads the person's methods.
func (s *Store) MethodsOf(ctx context.Context, personID int64) (Methods, error) {
	var m Methods
	var app struct {
		CreatedAt  *time.Time
		LastUsedAt *time.Time
	}
	q := s.db.WithContext(ctx)
	if err := q.Raw(`SELECT created_at, last_used_at FROM totp_secrets WHERE person_id = ?`, personID).Scan(&app).Error; err != nil {
		return m, fmt.Errorf("factors: methods: %w", err)
	}
	m.App, m.AppLastUsed = app.CreatedAt, app.LastUsedAt
	if err := q.Raw(`SELECT id, name, created_at, last_used_at FROM passkeys WHERE person_id = ? ORDER BY created_at, id`,
		personID).Scan(&m.Passkeys).Error; err != nil {
		return m, fmt.Errorf("factors: methods: %w", err)
	}
	var rec struct{ Total, Unused int }
	if err := q.Raw(`SELECT count(*) AS total, count(*) FILTER (WHERE used_at IS NULL) AS unused FROM recovery_codes
		WHERE person_id = ?`, personID).Scan(&rec).Error; err != nil {
		return m, fmt.Errorf("factors: methods: %w", err)
	}
	m.RecoveryLeft, m.RecoveryCodes = rec.Unused, rec.Total > 0
	return m, nil
}
