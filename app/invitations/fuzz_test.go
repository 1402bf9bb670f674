package invitations

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzNormaliseCode: whatever a worker types, NormaliseCode gives text
// with no hyphen, space, lower-case ASCII letter, I, L or O, and reading it
// again changes nothing, so a code read back twice is the same code; a
// real code in any case, with hyphens and spaces anywhere, reads as
// itself; and the result is bounded by what was typed. Seeds are in
// testdata/fuzz/FuzzNormaliseCode too.
func FuzzNormaliseCode(f *testing.F) {
	for _, s := range []string{"K7QM-3XHD", "k7qm 3xhd", " K7QM3XHD ", "IL0O-1100", "K7QM\u00a03XHD", "-\u2003K7QM3XHD",
		"ǅ", "ß", "\xff", "k7qm\t3xhd\n", "123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		if len(typed) > 1<<16 {
			t.Skip()
		}
		got := NormaliseCode(typed)
		if strings.ContainsAny(got, "-ILO") || strings.ContainsFunc(got, func(r rune) bool { return unicode.IsSpace(r) || 'a' <= r && r <= 'z' }) {
			t.Fatalf("NormaliseCode(%q) = %q", typed, got)
		}
		if len(got) > 3*len(typed) {
			t.Fatalf("NormaliseCode(%q) = %q is longer than it can be", typed, got)
		}
		if again := NormaliseCode(got); again != got {
			t.Fatalf("NormaliseCode(%q) = %q, then %q", typed, got, again)
		}
		// A real code, typed in the case and with the separators typed
		// wraps it in, reads as itself.
		code := "K7QM3XHD"
		var mixed strings.Builder
		for i, r := range code {
			c := string(r)
			if i < len(typed) && typed[i]&1 == 1 {
				c = strings.ToLower(c)
			}
			if i < len(typed) && typed[i]&6 == 2 {
				c += "-"
			}
			if i < len(typed) && typed[i]&6 == 4 {
				c += " \u00a0"
			}
			mixed.WriteString(c)
		}
		if n := NormaliseCode(mixed.String()); n != code {
			t.Fatalf("NormaliseCode(%q) = %q, want %q", mixed.String(), n, code)
		}
	})
}
