package auth

import (
	"errors"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Countries are the regions whose numbers the portal can text and call,
// with their calling codes and the message id of their name. PHONE_COUNTRIES
// chooses among them (default GB); a region needs a translated name here
// before it can be allowed.
var Countries = map[string]Country{
	"GB": {Region: "GB", CallingCode: 44, Label: "auth.confirm.country_gb"},
	"IE": {Region: "IE", CallingCode: 353, Label: "auth.confirm.country_ie"},
}

// Country is one region a phone number may come from.
type Country struct {
	Region      string
	CallingCode int
	Label       string // message id: "United Kingdom (+44)"
}

// blockedPrefixes are E.164 ranges refused whatever libphonenumber says of
// them: premium rate, shared cost, personal numbering, pagers, corporate
// and VoIP ranges, the ones toll and SMS fraud pay out on. UK: 09, 087,
// 084, 070, 076 (but 07624, the Isle of Man's mobiles), 055, 056. Ireland:
// 15xx premium, 18xx shared cost and freephone, 0818, 076.
// Security: a second guard, so a change in libphonenumber's metadata
// cannot open them.
var blockedPrefixes = []string{"+449", "+4487", "+4484", "+4470", "+4476", "+4455", "+4456",
	"+35315", "+35318", "+353818", "+35376"}

// openPrefixes are ordinary ranges inside a blocked one.
var openPrefixes = []string{"+447624"}

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
// the chosen region to E.164, refusing numbers outside the allowed regions
// and premium-rate, shared-cost and similar ranges.
func ParsePhone(allowed []string, region, typed string) (Phone, error) {
	country, ok := Countries[region]
	if !ok || !slices.Contains(allowed, region) {
		return Phone{}, ErrPhoneCountry
	}
	n, err := phonenumbers.Parse(strings.TrimSpace(typed), region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return Phone{}, ErrPhoneInvalid
	}
	// Compared by calling code: +44 covers the Crown Dependencies too.
	if int(n.GetCountryCode()) != country.CallingCode {
		return Phone{}, ErrPhoneCountry
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if blocked(e164) {
		return Phone{}, ErrPhoneInvalid
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return Phone{E164: e164, Mobile: true}, nil
	case phonenumbers.FIXED_LINE:
		return Phone{E164: e164}, nil
	default: // premium rate, shared cost, personal numbers, pagers, VoIP, UAN
		return Phone{}, ErrPhoneInvalid
	}
}

func blocked(e164 string) bool {
	for _, p := range openPrefixes {
		if strings.HasPrefix(e164, p) {
			return false
		}
	}
	for _, p := range blockedPrefixes {
		if strings.HasPrefix(e164, p) {
			return true
		}
	}
	return false
}

// MaskPhone shows only the last three digits: "•••• ••• 123".
func MaskPhone(e164 string) string {
	if len(e164) < 4 {
		return "•••"
	}
	return "•••• ••• " + e164[len(e164)-3:]
}
