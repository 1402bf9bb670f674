package auth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"seven characters are too few", "Ab1!xyz", false},
		{"eight with three kinds pass", "Kestrel7", true},
		{"eight with two kinds fail", "kestrel7", false},
		{"symbols from the guide count as a kind", "abcdef1#", true},
		{"a passphrase of 15 needs no kinds", "correct horse battery", true},
		{"fourteen lower-case letters fail", "abcdefghijklmn", false},
		{"64 characters pass", "Aa1" + strings.Repeat("x", 61), true},
		{"65 characters are too many", strings.Repeat("x", 65), false},
		{"letters beyond ASCII count once each", "Ŵŷŵŷŵ1!", false}, // 7 characters in 13 bytes
		{"a common password is refused though it fits", "Password123", false},
		{"a strong random-looking password is accepted", "tG7#qLw2vZ", true},
		{"a passphrase not in the list is accepted", "marsh lantern quietly", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := CheckPassword(tc.password); ok != tc.ok {
				t.Fatalf("CheckPassword(%q) = %v, want %v", tc.password, ok, tc.ok)
			}
		})
	}
}

// TestCommonPasswordsAreRefused picks passwords from the list that meet
// every other rule: only the list stops them.
func TestCommonPasswordsAreRefused(t *testing.T) {
	for _, password := range []string{
		"Password1",        // 9 characters, three kinds
		"P@ssw0rd",         // in zxcvbn's list as p@ssw0rd
		"Qwerty123",        // qwerty123
		"Trustno1",         // trustno1
		"Sasha_007",        // sasha_007
		"1qaz2wsx3edc4rfv", // a keyboard walk long enough to be a passphrase
		"qwerty123456789",  // likewise
		"Norfolk123!",      // one of the council's own additions
	} {
		t.Run("password="+password, func(t *testing.T) {
			rules, ok := CheckPassword(password)
			if ok {
				t.Fatalf("CheckPassword(%q) accepted a common password", password)
			}
			for _, r := range rules {
				if r.Met != (r.Name() != "common") {
					t.Errorf("rule %s met = %v: only the common-password rule should fail", r.Name(), r.Met)
				}
			}
		})
	}
}

// TestCommonPasswordsList keeps the embedded list honest: big enough to
// matter, and only entries the other rules would let through (lower case,
// 8 to 64 characters).
func TestCommonPasswordsList(t *testing.T) {
	if n := len(commonPasswords); n < 10000 || n > 30000 {
		t.Fatalf("%d common passwords, want 10,000 to 30,000", n)
	}
	for p := range commonPasswords {
		if n := utf8.RuneCountInString(p); n < PasswordMin || n > PasswordMax || p != strings.ToLower(p) {
			t.Errorf("entry %q: %d characters, or not lower case", p, n)
		}
	}
	t.Run("notes and empty lines are skipped", func(t *testing.T) {
		got := loadCommonPasswords("# a note\n\nOne-Two-3\r\nfour5678\n")
		if len(got) != 2 || !got["one-two-3"] || !got["four5678"] {
			t.Fatalf("loaded %v", got)
		}
	})
}
