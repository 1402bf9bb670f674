// Package keyhash is the portal's one keyed hash: HMAC-SHA256 under
// SESSION_KEY of a purpose and a value. Tokens, codes, addresses and
// phone numbers are stored and looked up only as such hashes, which open
// nothing without the key, and a hash made for one purpose never matches
// another's.
//
// Invariants:
//   - Sum(key, purpose, v) is HMAC-SHA256(key, purpose + ":" + v); a value
//     of several parts joins them with NUL, which no part holds. Purposes
//     are constants of the code, never input. Sessions,
//     known devices, lockouts and invitations were hashed this way before
//     the package existed, so their stored hashes still match.
//   - One-time codes, call challenges and rate-limit keys were hashed
//     another way before: they live minutes, so a deploy only ends those in
//     flight (a new code, a fresh count).
package keyhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Sum is the keyed hash of value's parts for purpose.
func Sum(key []byte, purpose string, value ...string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose + ":" + strings.Join(value, "\x00")))
	return m.Sum(nil)
}

// Hex is Sum in hexadecimal, as the tables keep it.
func Hex(key []byte, purpose string, value ...string) string {
	return hex.EncodeToString(Sum(key, purpose, value...))
}
