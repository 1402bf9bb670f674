package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password rules: the council's guide (004) asks for 8 to 16 characters
// with three of four kinds. We allow up to 64, and a passphrase of 15 or
// more characters needs no kinds at all (NIST SP 800-63B, OWASP ASVS 2.1).
const (
	PasswordMin        = 8
	PasswordMax        = 64
	PassphraseLength   = 15
	passwordKindsToUse = 3
)

// passwordSymbols are the symbols the guide lists.
const passwordSymbols = "@#$%^&*-_+=[]{}|\\:',?/`~\"();."

// commonPasswords are refused whatever their shape: the most used
// passwords that would otherwise pass the rules.
var commonPasswords = map[string]bool{
	"password1!": true, "password123": true, "passw0rd!": true, "p@ssw0rd": true, "p@ssword1": true,
	"qwerty123!": true, "welcome1!": true, "welcome123": true, "letmein1!": true, "iloveyou1!": true,
	"abc123!@#": true, "admin123!": true, "changeme1!": true, "summer2024!": true, "winter2024!": true,
	"football1!": true, "monkey123!": true, "sunshine1!": true, "princess1!": true, "qwertyuiop1": true,
	"1q2w3e4r5t": true, "zaq12wsx!": true, "password12345": true, "aa123456!": true, "norfolk123!": true,
}

// PasswordRule is one rule the person sees ticked or not as they type.
type PasswordRule struct {
	Key string // message id
	Met bool
}

// CheckPassword returns each rule with whether password meets it, and
// whether the password is acceptable as a whole. The page shows the same
// list without JavaScript (from the server) and with it (as they type).
func CheckPassword(password string) ([]PasswordRule, bool) {
	n := utf8.RuneCountInString(password)
	var lower, upper, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune(passwordSymbols, r):
			symbol = true
		}
	}
	kinds := 0
	for _, k := range []bool{lower, upper, digit, symbol} {
		if k {
			kinds++
		}
	}
	passphrase := n >= PassphraseLength
	rules := []PasswordRule{
		{"auth.password.rule_length", n >= PasswordMin && n <= PasswordMax},
		{"auth.password.rule_kinds", kinds >= passwordKindsToUse || passphrase},
		{"auth.password.rule_common", !commonPasswords[strings.ToLower(password)]},
	}
	ok := true
	for _, r := range rules {
		ok = ok && r.Met
	}
	return rules, ok
}
