package factors

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"portal/app/keyhash"
)

// RecoveryCount is how many recovery codes a person gets at a time.
const RecoveryCount = 10

// recoveryAlphabet has no letters that read as others (0/O, 1/I/L, 5/S,
// 8/B, U/V): the codes are written down by hand and typed back.
const recoveryAlphabet = "2346779ACDEFGHJKMNPQRTWXYZ"

// NewRecoveryCodes makes RecoveryCount new codes for the person, retiring
// any they had, and returns them to be shown once ("xxxx-xxxx", about 37
// bits each: a try costs a lockout count, so ten tries reach nothing).
func (s *Store) NewRecoveryCodes(ctx context.Context, personID int64) ([]string, error) {
	codes := make([]string, RecoveryCount)
	for i := range codes {
		b, err := randomLetters(8)
		if err != nil {
			return nil, err
		}
		codes[i] = b[:4] + "-" + b[4:]
	}
	now := s.clock.Now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM recovery_codes WHERE person_id = ?`, personID).Error; err != nil {
			return err
		}
		for _, c := range codes {
			if err := tx.Exec(`INSERT INTO recovery_codes (person_id, code_hash, created_at) VALUES (?, ?, ?)`,
				personID, s.recoveryHash(personID, c), now).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("factors: recovery codes: %w", err)
	}
	return codes, nil
}

// randomLetters is n letters of recoveryAlphabet, each equally likely
// (bytes past the last whole multiple of the alphabet are thrown away).
func randomLetters(n int) (string, error) {
	const limit = 256 - 256%len(recoveryAlphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, recoveryAlphabet[int(b)%len(recoveryAlphabet)])
			}
		}
	}
	return string(out), nil
}

// recoveryHash keys a code to its person, as typed or shown: case, spaces
// and hyphens do not matter.
func (s *Store) recoveryHash(personID int64, code string) string {
	norm := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(code)))
	return keyhash.Hex(s.key, "recovery", strconv.FormatInt(personID, 10), norm)
}

// UseRecoveryCode spends one of the person's codes (one conditional
// UPDATE: a code passes once). ErrWrong for any code that is not theirs
// and unused.
func (s *Store) UseRecoveryCode(ctx context.Context, personID int64, code string) error {
	res := s.db.WithContext(ctx).Exec(`UPDATE recovery_codes SET used_at = ?
		WHERE person_id = ? AND code_hash = ? AND used_at IS NULL`, s.clock.Now(), personID, s.recoveryHash(personID, code))
	if res.Error != nil {
		return fmt.Errorf("factors: recovery code: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrWrong
	}
	return nil
}
