package auth_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

// BenchmarkKnownAndUnknownAddresses measures what a stranger could time:
// "Forgot your password?" and "Sign up" for an address with an account and
// one without, interleaved in one run (so the machine's noise falls on
// both), at least 200 trials each. It reports the median difference in
// milliseconds and the ratio of the medians; both should be about 0 and 1.
// Run with `make bench`; no test asserts on time.
func BenchmarkKnownAndUnknownAddresses(b *testing.B) {
	a := apptest.NewApp(b, apptest.Options{})
	a.NewPerson(b, "parent@example.net", accounts.RoleCitizen, "")
	trials := max(b.N, 200)
	for _, path := range []string{"/forgot-password", "/sign-up"} {
		b.Run(path[1:], func(b *testing.B) {
			var known, unknown []float64
			for i := range trials {
				order := []string{"parent@example.net", "nobody@example.net"}
				if i%2 == 1 {
					slices.Reverse(order) // alternate which goes first
				}
				for _, email := range order {
					a.Clock.Advance(time.Hour) // past the send limits
					c := a.Client(b)
					c.Get(path)
					start := time.Now()
					c.PostForm(path+"/send", url.Values{"email": {email}})
					ms := float64(time.Since(start).Microseconds()) / 1000
					if email == "parent@example.net" {
						known = append(known, ms)
					} else {
						unknown = append(unknown, ms)
					}
				}
			}
			mk, mu := median(known), median(unknown)
			b.ReportMetric(mk-mu, "known-unknown-ms")
			b.ReportMetric(mk/mu, "known/unknown")
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
