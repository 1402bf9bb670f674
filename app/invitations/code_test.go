package invitations

import (
	"regexp"
	"testing"
)

func TestCodesAreCrockfordAndNeverLookLikeASignInCode(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		code, err := NewCode()
		if err != nil || !shape.MatchString(code) {
			t.Fatalf("NewCode = %q, %v", code, err)
		}
		seen[code] = true
	}
	if len(seen) < 199 {
		t.Fatalf("200 codes gave only %d different ones", len(seen))
	}
}

func TestNormaliseCodeReadsACodeAsSaidAndTyped(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"K7QM-3XHD", "K7QM3XHD"},
		{"k7qm 3xhd", "K7QM3XHD"},
		{" K7QM3XHD ", "K7QM3XHD"},
		{"IL0O-1100", "1100" + "1100"}, // I and L read as 1, O as 0
	} {
		if got := NormaliseCode(tc.typed); got != tc.want {
			t.Errorf("NormaliseCode(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}
