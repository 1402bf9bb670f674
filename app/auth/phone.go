package auth

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// AllowedCountries are the calling codes sign-in codes may go to. Anything
// else is refused, so the portal cannot be used for SMS or call fraud.
var AllowedCountries = map[string]int{"GB": 44}

// Phone errors, each a message id.
var (
	ErrPhoneInvalid  = errors.New("auth.phone.error_invalid")
	ErrPhoneCountry  = errors.New("auth.phone.error_country")
	ErrPhoneNotTexts = errors.New("auth.phone.error_not_mobile")
)

// Phone is a normalised number.
type Phone struct {
	E164   string // +447700900123
	Mobile bool   // texts can go to it; otherwise "Call Me" only
}

// ParsePhone normalises what a person typed ("07700 900123" or "+44 …") for
// the chosen country to E.164, refusing numbers outside the allowed
// countries and premium-rate, shared-cost and similar ranges.
func ParsePhone(region, typed string) (Phone, error) {
	if _, ok := AllowedCountries[region]; !ok {
		return Phone{}, ErrPhoneCountry
	}
	n, err := phonenumbers.Parse(strings.TrimSpace(typed), region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return Phone{}, ErrPhoneInvalid
	}
	// Compared by calling code: +44 covers the Crown Dependencies too.
	if int(n.GetCountryCode()) != AllowedCountries[region] {
		return Phone{}, ErrPhoneCountry
	}
	switch t := phonenumbers.GetNumberType(n); t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return Phone{E164: phonenumbers.Format(n, phonenumbers.E164), Mobile: true}, nil
	case phonenumbers.FIXED_LINE:
		return Phone{E164: phonenumbers.Format(n, phonenumbers.E164)}, nil
	default: // premium rate, shared cost, personal numbers, pagers, VoIP, UAN
		return Phone{}, ErrPhoneInvalid
	}
}

// MaskPhone shows only the last three digits: "+44 ••••• •••123".
func MaskPhone(e164 string) string {
	if len(e164) < 4 {
		return "•••"
	}
	return "•••• ••• " + e164[len(e164)-3:]
}
