package jobs_test

import (
	"fmt"
	"sync"
	"testing"

	"portal/app/access"
	"portal/app/apptest"
	"portal/app/jobs"
)

// TestTwoMachinesRunningAtOnceActOnEachRowOnce runs the notices and the
// retention on two apps sharing one database, at the same moment: every
// carer gets one notice, every account one warning, one deletion and one
// audit event.
func TestTwoMachinesRunningAtOnceActOnEachRowOnce(t *testing.T) {
	a := newApp(t)
	b := apptest.NewApp(t, apptest.Options{DSN: a.DSN})
	const n = 15
	store := access.NewStore(a.DB.Gorm, a.Clock)
	for i := range n {
		r := record(t, a)
		g := grant(t, a, citizen(t, a, fmt.Sprintf("carer%d@example.net", i), 90*day), r)
		if _, err := store.EndPlacement(ctx, r.ID, g, today(a)); err != nil {
			t.Fatal(err)
		}
		citizen(t, a, fmt.Sprintf("unused%d@example.net", i), 24*day)
	}
	both := func(run func(*jobs.Runner) (int, error)) int {
		t.Helper()
		b.Clock.Set(a.Clock.Now())
		var wg sync.WaitGroup
		counts := make([]int, 2)
		errs := make([]error, 2)
		for i, r := range []*jobs.Runner{a.Jobs, b.Jobs} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				counts[i], errs[i] = run(r)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return counts[0] + counts[1]
	}
	notices := func(r *jobs.Runner) (int, error) { return r.SendGrantEndNotices(ctx) }
	warnings := func(r *jobs.Runner) (int, error) { res, err := r.Retention(ctx); return res.Warned, err }
	deletions := func(r *jobs.Runner) (int, error) { res, err := r.Retention(ctx); return res.Deleted, err }

	if got := both(notices); got != n {
		t.Fatalf("%d notices, want %d", got, n)
	}
	if got := both(warnings); got != n {
		t.Fatalf("%d warnings, want %d", got, n)
	}
	a.Clock.Advance(jobs.WarningNotice)
	if got := both(deletions); got != n {
		t.Fatalf("%d deletions, want %d", got, n)
	}
	for i := range n {
		for _, addr := range []string{fmt.Sprintf("carer%d@example.net", i), fmt.Sprintf("unused%d@example.net", i)} {
			if got := len(emailsTo(t, a, addr)); got != 1 {
				t.Fatalf("%s got %d emails, want 1", addr, got)
			}
		}
	}
	var events int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = ?`, jobs.AuditDeletedUnused).Scan(&events)
	if events != n {
		t.Fatalf("%d deletion events, want %d", events, n)
	}
}
