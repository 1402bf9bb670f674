package auth

import (
	"errors"
	"testing"
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePhone(tc.region, tc.typed)
			if !errors.Is(err, tc.err) || p.E164 != tc.e164 || p.Mobile != tc.mobile {
				t.Fatalf("ParsePhone = %+v, %v; want %s mobile=%v %v", p, err, tc.e164, tc.mobile, tc.err)
			}
		})
	}
}
