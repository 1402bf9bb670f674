package factors

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP codes: six digits, 30-second steps, SHA-1 (what every authenticator
// app reads from a QR code), one step either side for a phone's clock.
const (
	totpPeriod = 30
	totpSkew   = 1
	sealTOTP   = "factors.totp"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// AppKey is an authenticator app being set up: the secret as the person
// may type it, and the otpauth:// URL its QR code carries.
type AppKey struct {
	Secret string
	URL    string
}

// NewAppKey makes a secret for an app. issuer is the service's name and
// account what the app lists it under (the person's email address).
func NewAppKey(issuer, account string) (AppKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return AppKey{}, fmt.Errorf("factors: app key: %w", err)
	}
	return AppKey{Secret: k.Secret(), URL: k.URL()}, nil
}

// SealAppSecret seals a secret for the session while the app is set up.
func (s *Store) SealAppSecret(secret string) (string, error) {
	return s.sealer.Seal(sealTOTP, []byte(secret))
}

// OpenAppSecret opens a secret SealAppSecret sealed.
func (s *Store) OpenAppSecret(sealed string) (string, error) {
	plain, err := s.sealer.Open(sealTOTP, sealed)
	return string(plain), err
}

// step finds the step of code among those around now, or 0.
func step(secret, code string, now time.Time) int64 {
	if len(code) != 6 {
		return 0
	}
	at := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((at+d)*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at + d
		}
	}
	return 0
}

// AddApp keeps the app whose sealed secret the person set up, once they
// typed a first code from it; it replaces an app they had.
func (s *Store) AddApp(ctx context.Context, personID int64, sealed, code string) error {
	secret, err := s.OpenAppSecret(sealed)
	if err != nil {
		return ErrWrong
	}
	now := s.clock.Now()
	st := step(secret, code, now)
	if st == 0 {
		return ErrWrong
	}
	return s.db.WithContext(ctx).Exec(`INSERT INTO totp_secrets (person_id, secret_sealed, last_step, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE
		SET secret_sealed = EXCLUDED.secret_sealed, last_step = EXCLUDED.last_step, created_at = EXCLUDED.created_at,
			last_used_at = NULL`, personID, sealed, st, now).Error
}

// CheckApp takes a code from the person's app: right, and of a step later
// than the last one taken. ErrWrong otherwise; ErrNotFound without an app.
func (s *Store) CheckApp(ctx context.Context, personID int64, code string) error {
	var row struct {
		SecretSealed string
		LastStep     int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT secret_sealed, last_step FROM totp_secrets WHERE person_id = ?`, personID).
		Scan(&row).Error
	if err != nil {
		return fmt.Errorf("factors: app: %w", err)
	}
	if row.SecretSealed == "" {
		return ErrNotFound
	}
	secret, err := s.OpenAppSecret(row.SecretSealed)
	if err != nil {
		return fmt.Errorf("factors: app: %w", err)
	}
	now := s.clock.Now()
	st := step(secret, code, now)
	if st == 0 || st <= row.LastStep {
		return ErrWrong
	}
	// Security: the step is taken by one conditional statement, so two
	// requests with the same code cannot both pass.
	res := s.db.WithContext(ctx).Exec(`UPDATE totp_secrets SET last_step = ?, last_used_at = ?
		WHERE person_id = ? AND last_step < ?`, st, now, personID, st)
	if res.Error != nil {
		return fmt.Errorf("factors: app: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrWrong
	}
	return nil
}

// RemoveApp forgets the person's app.
func (s *Store) RemoveApp(ctx context.Context, personID int64) error {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM totp_secrets WHERE person_id = ?`, personID)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}
