package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/keyhash"
	"portal/app/web"
)

// CallLifetime is how long a "Call Me" challenge can be answered and used:
// the same ten minutes as a texted code.
const CallLifetime = CodeLifetime

// ErrCallNotAnswered says the call has not (yet) been answered with #.
var ErrCallNotAnswered = errors.New("auth: call not answered")

// ErrCallOver says the call was used, has expired or never existed: the
// person must ask for another one.
var ErrCallOver = errors.New("auth: call over")

// Calls keeps the "Call Me" challenges.
//
// Security: each call carries its own challenge id of 256 random bits to the
// voice provider and back; only its keyed hash is stored. A call counts
// when, and only when, the provider reports "#" for that very id before it
// expires (Answered), and then only once, for the person, purpose and
// number that started it (Use). Another call's answer, another digit, a
// late answer or a second use count for nothing.
type Calls struct {
	db    *gorm.DB
	clock clock.Clock
	key   []byte
}

// NewCalls returns the call store; key keys the hashes.
func NewCalls(db *gorm.DB, clk clock.Clock, key []byte) *Calls {
	return &Calls{db: db, clock: clk, key: key}
}

// Call is one challenge as the browser's session knows it.
type Call struct {
	ID    int64
	Token string // goes to the voice provider only, never to the browser
}

func (s *Calls) hash(kind, v string) string { return keyhash.Hex(s.key, "call."+kind, v) }

// Start records a new call to number for a person and purpose. Earlier
// calls of the same person and purpose stop counting: only the newest call
// can sign in.
func (s *Calls) Start(ctx context.Context, personID int64, purpose, number string) (Call, error) {
	token, err := web.RandomToken()
	if err != nil {
		return Call{}, err
	}
	now := s.clock.Now()
	var id int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE phone_calls SET expires_at = ? WHERE person_id = ? AND purpose = ? AND used_at IS NULL
			AND expires_at > ?`, now, personID, purpose, now).Error; err != nil {
			return err
		}
		return tx.Raw(`INSERT INTO phone_calls (token_hash, person_id, purpose, number_key, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, s.hash("token", token), personID, purpose,
			s.hash("number", number), now, now.Add(CallLifetime)).Scan(&id).Error
	})
	if err != nil {
		return Call{}, fmt.Errorf("calls: start: %w", err)
	}
	return Call{ID: id, Token: token}, nil
}

// Answered is the voice provider's report that the person pressed digits
// on the call with token. Only "#" on a live, unanswered call counts; any
// other report changes nothing and is not an error (the provider's
// callback must not learn which tokens exist).
func (s *Calls) Answered(ctx context.Context, token, digits string) error {
	if digits != "#" || token == "" {
		return nil
	}
	now := s.clock.Now()
	err := s.db.WithContext(ctx).Exec(`UPDATE phone_calls SET answered_at = ? WHERE token_hash = ?
		AND answered_at IS NULL AND used_at IS NULL AND expires_at > ?`, now, s.hash("token", token), now).Error
	if err != nil {
		return fmt.Errorf("calls: answered: %w", err)
	}
	return nil
}

// Use spends call id for the person, purpose and number that started it,
// if it was answered with #. ErrCallNotAnswered means "keep waiting";
// ErrCallOver means "ask for another call".
func (s *Calls) Use(ctx context.Context, id, personID int64, purpose, number string) error {
	now := s.clock.Now()
	var row struct {
		AnsweredAt *time.Time
		UsedAt     *time.Time
		ExpiresAt  time.Time
	}
	res := s.db.WithContext(ctx).Raw(`UPDATE phone_calls SET used_at = CASE WHEN answered_at IS NOT NULL THEN ?::timestamptz END
		WHERE id = ? AND person_id = ? AND purpose = ? AND number_key = ? AND used_at IS NULL AND expires_at > ?
		RETURNING answered_at, used_at, expires_at`, now, id, personID, purpose, s.hash("number", number), now).Scan(&row)
	switch {
	case res.Error != nil:
		return fmt.Errorf("calls: use: %w", res.Error)
	case res.RowsAffected == 0:
		return ErrCallOver
	case row.UsedAt == nil:
		return ErrCallNotAnswered
	}
	return nil
}

// DeleteExpired removes calls that expired more than olderThan ago; the
// clean-up job calls it. Nothing depends on it: Answered and Use decide
// expiry themselves.
func (s *Calls) DeleteExpired(ctx context.Context, olderThan time.Duration) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM phone_calls WHERE expires_at < ?`, s.clock.Now().Add(-olderThan))
	if res.Error != nil {
		return 0, fmt.Errorf("calls: delete expired: %w", res.Error)
	}
	return res.RowsAffected, nil
}
