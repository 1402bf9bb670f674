package auth

import (
	"errors"
	"os"
	"regexp"
	"testing"

	"portal/app/i18n"
)

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		name, region, typed, e164 string
		mobile                    bool
		err                       error
	}{
		{"a UK mobile typed nationally", "GB", "07911 123456", "+447911123456", true, nil},
		{"a UK mobile typed internationally", "GB", "+44 7911 123456", "+447911123456", true, nil},
		{"a UK landline is for calls only", "GB", "020 8123 4567", "+442081234567", false, nil},
		{"premium rate is refused", "GB", "0909 879 0000", "", false, ErrPhoneInvalid},
		{"nonsense is refused", "GB", "12", "", false, ErrPhoneInvalid},
		{"a number abroad is refused", "GB", "+1 202 555 0143", "", false, ErrPhoneCountry},
		{"a country outside the allowlist is refused", "US", "202 555 0143", "", false, ErrPhoneCountry},
		{"a known country not allowed here is refused", "IE", "085 123 4567", "", false, ErrPhoneCountry},
		{"shared cost is refused", "GB", "0845 600 0000", "", false, ErrPhoneInvalid},
		{"a personal number is refused", "GB", "070 1234 5678", "", false, ErrPhoneInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePhone([]string{"GB"}, tc.region, tc.typed)
			if !errors.Is(err, tc.err) || p.E164 != tc.e164 || p.Mobile != tc.mobile {
				t.Fatalf("ParsePhone = %+v, %v; want %s mobile=%v %v", p, err, tc.e164, tc.mobile, tc.err)
			}
		})
	}
}

func TestTheBlockedRangesHoldWhateverTheMetadataSays(t *testing.T) {
	// Each prefix is refused on its own, even for a number libphonenumber
	// would call an ordinary mobile or landline.
	for _, p := range blockedPrefixes {
		if !blocked(p + "12345678") {
			t.Errorf("%s is not refused", p)
		}
	}
	for _, ordinary := range []string{"+447911123456", "+442079460001", "+447624123456", "+35312345678", "+353851234567"} {
		if blocked(ordinary) {
			t.Errorf("the ordinary number %s is refused", ordinary)
		}
	}
}

func TestAllowingIreland(t *testing.T) {
	p, err := ParsePhone([]string{"GB", "IE"}, "IE", "085 123 4567")
	if err != nil || p.E164 != "+353851234567" || !p.Mobile {
		t.Fatalf("an Irish mobile with IE allowed = %+v, %v", p, err)
	}
	if _, err := ParsePhone([]string{"GB", "IE"}, "IE", "1550 123 456"); !errors.Is(err, ErrPhoneInvalid) {
		t.Fatalf("an Irish premium-rate number = %v", err)
	}
}

// TestTheExamplesOnThePageAreAccepted: whoever copies the format of the
// phone hint or of the error's examples is not told it is wrong.
func TestTheExamplesOnThePageAreAccepted(t *testing.T) {
	b, err := i18n.Load(os.DirFS("../../locales"))
	if err != nil {
		t.Fatal(err)
	}
	number := regexp.MustCompile(`0[0-9 ]{9,12}[0-9]`)
	for _, lang := range []string{"en", "cy"} {
		for _, id := range []string{"auth.confirm.phone_hint", "auth.phone.error_invalid"} {
			text := b.For(lang).T(id)
			examples := number.FindAllString(text, -1)
			if len(examples) == 0 {
				t.Errorf("%s %s gives no example: %q", lang, id, text)
			}
			for _, ex := range examples {
				if _, err := ParsePhone([]string{"GB"}, "GB", ex); err != nil {
					t.Errorf("%s %s: the example %q is refused: %v", lang, id, ex, err)
				}
			}
		}
	}
}
