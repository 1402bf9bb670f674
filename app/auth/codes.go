package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/keyhash"
)

// Code rules from the council's guides: six digits, valid ten minutes,
// single use; at most five wrong tries.
const (
	CodeLength      = 6
	CodeLifetime    = 10 * time.Minute
	CodeMaxFailures = 5
)

// Errors a code check can end in. Callers show one message for all of
// them but the last: guessing must learn nothing.
var (
	ErrCodeWrong     = errors.New("auth: wrong code")
	ErrCodeExpired   = errors.New("auth: code expired or used")
	ErrCodeExhausted = errors.New("auth: too many wrong codes")
)

// Codes issues and checks one-time codes.
//
// Security: a code and its subject are stored as keyed hashes and compared
// in constant time; expiry and use are decided in the check itself.
type Codes struct {
	db    *gorm.DB
	clock clock.Clock
	key   []byte
}

// NewCodes returns the code store; key keys the hashes.
func NewCodes(db *gorm.DB, clk clock.Clock, key []byte) *Codes {
	return &Codes{db: db, clock: clk, key: key}
}

type oneTimeCode struct {
	ID         int64
	Purpose    string
	SubjectKey string
	CodeHash   string
	Failures   int
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
	ReplacedAt *time.Time
}

func (oneTimeCode) TableName() string { return "one_time_codes" }

func (s *Codes) subjectKey(purpose, subject string) string {
	return keyhash.Hex(s.key, "code.subject", purpose, strings.ToLower(strings.TrimSpace(subject)))
}

// Issue makes a new code for subject, replacing any earlier one; the wrong
// tries of an earlier code that has not expired carry over.
func (s *Codes) Issue(ctx context.Context, purpose, subject string) (string, error) {
	code, err := randomDigits(CodeLength)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	key := s.subjectKey(purpose, subject)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var failures int
		// Security: wrong tries carry over from a live code only, so "Send
		// new code" never resets them, while an expired code's count (five
		// wrong tries by anyone who knows the address) locks nobody out for good.
		if err := tx.Raw(`SELECT coalesce(max(failures), 0) FROM one_time_codes WHERE purpose = ? AND subject_key = ?
			AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ?`, purpose, key, now).Scan(&failures).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE one_time_codes SET replaced_at = ? WHERE purpose = ? AND subject_key = ?
			AND used_at IS NULL AND replaced_at IS NULL`, now, purpose, key).Error; err != nil {
			return err
		}
		return tx.Create(&oneTimeCode{Purpose: purpose, SubjectKey: key, CodeHash: keyhash.Hex(s.key, "code", key, code),
			Failures: failures, CreatedAt: now, ExpiresAt: now.Add(CodeLifetime)}).Error
	})
	if err != nil {
		return "", fmt.Errorf("codes: issue: %w", err)
	}
	return code, nil
}

// Check uses up subject's current code if code matches it.
func (s *Codes) Check(ctx context.Context, purpose, subject, code string) error {
	key := s.subjectKey(purpose, subject)
	now := s.clock.Now()
	// outcome is returned after the commit: a wrong try must be counted,
	// and returning it from the transaction would roll the count back.
	var outcome error
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c oneTimeCode
		err := tx.Raw(`SELECT * FROM one_time_codes WHERE purpose = ? AND subject_key = ? AND replaced_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE`, purpose, key).Scan(&c).Error
		if err != nil {
			return err
		}
		switch {
		case c.ID == 0 || c.UsedAt != nil || !now.Before(c.ExpiresAt):
			outcome = ErrCodeExpired
			return nil
		case c.Failures >= CodeMaxFailures:
			outcome = ErrCodeExhausted
			return nil
		}
		want := []byte(c.CodeHash)
		got := []byte(keyhash.Hex(s.key, "code", key, strings.TrimSpace(code)))
		if subtle.ConstantTimeCompare(want, got) != 1 {
			if err := tx.Exec(`UPDATE one_time_codes SET failures = failures + 1 WHERE id = ?`, c.ID).Error; err != nil {
				return err
			}
			outcome = ErrCodeWrong
			if c.Failures+1 >= CodeMaxFailures {
				outcome = ErrCodeExhausted
			}
			return nil
		}
		return tx.Exec(`UPDATE one_time_codes SET used_at = ? WHERE id = ?`, now, c.ID).Error
	})
	if err != nil {
		return fmt.Errorf("codes: check: %w", err)
	}
	return outcome
}

func randomDigits(n int) (string, error) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", err
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String(), nil
}

// DeleteExpired removes codes that expired more than olderThan ago; the
// clean-up job calls it. Nothing depends on it: Check decides expiry
// itself, and Issue carries wrong tries over only from a live code.
func (s *Codes) DeleteExpired(ctx context.Context, olderThan time.Duration) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM one_time_codes WHERE expires_at < ?`, s.clock.Now().Add(-olderThan))
	if res.Error != nil {
		return 0, fmt.Errorf("codes: delete expired: %w", res.Error)
	}
	return res.RowsAffected, nil
}
