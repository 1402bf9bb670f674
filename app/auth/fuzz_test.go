package auth

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// e164Shape is an E.164 number: a plus, then at most 15 digits.
var e164Shape = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FuzzParsePhone: whatever a person types, ParsePhone refuses it with one
// of its errors or gives an E.164 number of the chosen region that is in
// no blocked range; that number, and the same number written nationally,
// parse again to the same Phone; and the mask shows only its last three
// digits. Seeds are in testdata/fuzz/FuzzParsePhone too.
func FuzzParsePhone(f *testing.F) {
	for _, s := range []struct {
		region uint8
		typed  string
	}{
		{0, "07911 123456"}, {0, "+44 7911 123456"}, {0, "020 7946 0123"}, {0, "0909 879 0000"},
		{0, "07624 123456"}, {0, "+44 (0) 7911-123-456"}, {0, "tel:+44-7911-123456;ext=1"},
		{1, "085 123 4567"}, {1, "+353 1 234 5678"}, {1, "1890 123 456"}, {2, "202 555 0143"},
		{0, "\uff10\uff17\uff19\uff11\uff11 123456"}, {0, "0800 COLLECT"}, {0, strings.Repeat("9", 300)},
	} {
		f.Add(s.region, s.typed)
	}
	regions := []string{"GB", "IE", "US", ""}
	allowed := []string{"GB", "IE"}
	f.Fuzz(func(t *testing.T, k uint8, typed string) {
		if len(typed) > 1<<16 {
			t.Skip()
		}
		region := regions[int(k)%len(regions)]
		p, err := ParsePhone(allowed, region, typed)
		if err != nil {
			if p != (Phone{}) || !errors.Is(err, ErrPhoneInvalid) && !errors.Is(err, ErrPhoneCountry) {
				t.Fatalf("ParsePhone(%q) = %+v, %v", typed, p, err)
			}
			return
		}
		code := "+" + strconv.Itoa(Countries[region].CallingCode)
		if !e164Shape.MatchString(p.E164) || !strings.HasPrefix(p.E164, code) || blocked(p.E164) {
			t.Fatalf("ParsePhone(%s, %q) = %q", region, typed, p.E164)
		}
		if again, err := ParsePhone(allowed, region, p.E164); err != nil || again != p {
			t.Fatalf("ParsePhone(%q) = %+v, then %q gives %+v, %v", typed, p, p.E164, again, err)
		}
		n, err := phonenumbers.Parse(p.E164, region)
		if err != nil {
			t.Fatal(err)
		}
		national := phonenumbers.Format(n, phonenumbers.NATIONAL)
		if again, err := ParsePhone(allowed, region, national); err != nil || again != p {
			t.Fatalf("%q written nationally as %q gives %+v, %v", p.E164, national, again, err)
		}
		if m := MaskPhone(p.E164); !strings.HasSuffix(m, p.E164[len(p.E164)-3:]) || strings.Contains(m, p.E164[:len(p.E164)-3]) {
			t.Fatalf("MaskPhone(%q) = %q", p.E164, m)
		}
	})
}
