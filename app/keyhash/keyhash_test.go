package keyhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The hashes stored before this package (sessions, devices, lockouts,
// invitations) are what Sum makes, and purposes keep hashes apart.
func TestSumIsTheStoredFormatAndPurposesDiffer(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	old := func(s string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil))
	}
	for _, tc := range []struct{ got, want string }{
		{Hex(key, "session", "tok"), old("session:tok")},
		{Hex(key, "device", "tok"), old("device:tok")},
		{Hex(key, "lockout", "a@example.net"), old("lockout:a@example.net")},
		{Hex(key, "invitation:code", "ABCD1234"), old("invitation:code:ABCD1234")},
		{Hex(key, "code", "x", "y"), old("code:x\x00y")},
	} {
		if tc.got != tc.want {
			t.Errorf("%s, want %s", tc.got, tc.want)
		}
	}
	if Hex(key, "session", "tok") == Hex(key, "device", "tok") {
		t.Fatal("two purposes give one hash")
	}
}
