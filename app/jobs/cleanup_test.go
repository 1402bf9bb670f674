package jobs_test

import (
	"testing"
	"time"

	"portal/app/jobs"
	"portal/app/ratelimit"
	"portal/app/web"
)

// TestCleanupDeletesOnlyWhatHasExpired: sessions past their end, and
// rate-limit windows, codes and calls over a day past theirs, go; what is
// still live stays and still works.
func TestCleanupDeletesOnlyWhatHasExpired(t *testing.T) {
	a := newApp(t)
	p := citizen(t, a, "tidy@example.net", day)
	rule := ratelimit.Rule{Name: "test:cleanup", Max: 5, Window: time.Hour}
	const number = "+442079460001"
	old := func() {
		t.Helper()
		if _, err := a.Sessions.Start(ctx, p.ID, web.AAL2); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Limiter.Allow(ctx, rule, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Codes.Issue(ctx, "signup", "tidy@example.net"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Calls.Start(ctx, p.ID, "phone", number); err != nil {
			t.Fatal(err)
		}
	}
	old()
	a.Clock.Advance(jobs.KeepExpired + time.Hour)
	live, err := a.Sessions.Start(ctx, p.ID, web.AAL2)
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Codes.Issue(ctx, "signup", "tidy@example.net")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Limiter.Allow(ctx, rule, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}

	// Two records of deliveries: one past KeepDeliveries, one recent.
	for _, at := range []time.Time{a.Clock.Now().Add(-jobs.KeepDeliveries - time.Hour), a.Clock.Now()} {
		if err := a.DB.Gorm.Exec(`INSERT INTO notify_deliveries (channel, status, at) VALUES ('sms', 'sent', ?)`, at).Error; err != nil {
			t.Fatal(err)
		}
	}

	res, err := a.Jobs.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (jobs.CleanupResult{Sessions: 1, OneTimeCodes: 1, PhoneCalls: 1, Deliveries: 1}) {
		t.Fatalf("Cleanup = %+v, want one old row of each", res)
	}
	var windows int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM rate_limits`).Scan(&windows)
	if windows != 1 {
		t.Fatalf("%d rate-limit windows left, want the current one", windows)
	}
	if s, err := a.Sessions.Load(ctx, live); err != nil || s == nil {
		t.Fatalf("the live session after clean-up: %v, %v", s, err)
	}
	if err := a.Codes.Check(ctx, "signup", "tidy@example.net", code); err != nil {
		t.Fatalf("the live code after clean-up: %v", err)
	}
	if res, err := a.Jobs.Cleanup(ctx); err != nil || res != (jobs.CleanupResult{}) {
		t.Fatalf("second Cleanup = %+v, %v; want nothing left to do", res, err)
	}
}
