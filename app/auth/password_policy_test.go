package auth

import (
	"strings"
	"testing"
)

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"seven characters are too few", "Ab1!xyz", false},
		{"eight with three kinds pass", "Abcdefg1", true},
		{"eight with two kinds fail", "abcdefg1", false},
		{"symbols from the guide count as a kind", "abcdef1#", true},
		{"a passphrase of 15 needs no kinds", "correct horse battery", true},
		{"fourteen lower-case letters fail", "abcdefghijklmn", false},
		{"64 characters pass", "Aa1" + strings.Repeat("x", 61), true},
		{"65 characters are too many", strings.Repeat("x", 65), false},
		{"a common password is refused though it fits", "Password123", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := CheckPassword(tc.password); ok != tc.ok {
				t.Fatalf("CheckPassword(%q) = %v, want %v", tc.password, ok, tc.ok)
			}
		})
	}
}
