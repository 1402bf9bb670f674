// Package factors keeps the ways a person proves it is them beside the
// phone code every account has (issue 15): an authenticator app (TOTP),
// passkeys (WebAuthn, passkeys.go) and recovery codes for when those are
// lost. app/auth asks it at sign-in and on "Sign-in methods".
//
// Invariants:
//   - Secrets never leave unprotected: an app's secret is sealed
//     (seal, purpose "factors.totp"); recovery codes are kept only as keyed
//     hashes (keyhash, purpose "recovery"); a passkey is a public key.
//   - Each proof counts once: an app code's 30-second step must be later
//     than the last one taken (a code is refused a second time within its
//     window, and so is an older one), recorded by one conditional UPDATE;
//     a recovery code is spent by one conditional UPDATE; a passkey's sign
//     counter must grow where the authenticator keeps one.
//   - Tries are bounded by the caller (auth counts them with the phone
//     code's limits and lockout); nothing here says whether a person or a
//     code exists beyond what its caller needs (ErrWrong covers all).
//   - Time comes from the injected clock, so tests move it.
package factors

import (
	"errors"
	"fmt"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/seal"
)

// ErrWrong is any code or passkey that does not prove anything: wrong,
// used, expired, another person's.
var ErrWrong = errors.New("factors: not accepted")

// ErrNotFound is a method the person does not have.
var ErrNotFound = fmt.Errorf("factors: %w", db.ErrNotFound)

// Store keeps every person's methods.
type Store struct {
	db     *gorm.DB
	clock  clock.Clock
	sealer *seal.Sealer
	key    []byte // SESSION_KEY: keys the recovery codes' hashes
}

// NewStore returns the store.
func NewStore(db *gorm.DB, clk clock.Clock, sealer *seal.Sealer, key []byte) *Store {
	return &Store{db: db, clock: clk, sealer: sealer, key: key}
}
