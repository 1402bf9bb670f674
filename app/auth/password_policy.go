package auth

import (
	_ "embed"
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

// PasswordShape is the length and kinds rules as numbers, for the page to
// list the symbols and for its script (static/js/password.js) to check as
// the person types. CheckPassword stays the authority.
type PasswordShape struct {
	Min, Max, Passphrase, Kinds int
	Symbols                     string
}

// Shape is the rules CheckPassword applies, bar the common-password list.
func Shape() PasswordShape {
	return PasswordShape{Min: PasswordMin, Max: PasswordMax, Passphrase: PassphraseLength, Kinds: passwordKindsToUse,
		Symbols: passwordSymbols}
}

// SymbolList is the symbols spaced out, for people to read.
func (s PasswordShape) SymbolList() string { return strings.Join(strings.Split(s.Symbols, ""), " ") }

// commonPasswords are refused whatever their shape: the most used
// passwords of 8 to 64 characters (zxcvbn's list, with the council's own
// additions; common_passwords.txt says where it came from), lower case.
// It is read once, when the program starts.
var commonPasswords = loadCommonPasswords(commonPasswordsFile)

//go:embed common_passwords.txt
var commonPasswordsFile string

// loadCommonPasswords reads a list of one password a line, skipping empty
// lines and notes (lines starting with "#").
func loadCommonPasswords(list string) map[string]bool {
	m := make(map[string]bool, strings.Count(list, "\n"))
	for line := range strings.Lines(list) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = true
	}
	return m
}

// PasswordRule is one rule the person sees ticked or not as they type.
type PasswordRule struct {
	Key string // message id
	Met bool
}

// Name is the rule's short name ("length", "kinds", "common"), by which
// static/js/password.js finds it on the page.
func (r PasswordRule) Name() string { return strings.TrimPrefix(r.Key, "auth.password.rule_") }

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
