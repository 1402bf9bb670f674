package jobs_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"portal/app/db"
	"portal/app/jobs"
)

// TestThePeriodicJobsAreCleanupNoticesAndRetention lists what New
// registers on the client: exactly these three, at these intervals.
func TestThePeriodicJobsAreCleanupNoticesAndRetention(t *testing.T) {
	a := newApp(t)
	want := []jobs.Schedule{
		{Kind: jobs.KindCleanup, Interval: time.Hour},
		{Kind: jobs.KindGrantEndNotices, Interval: time.Hour},
		{Kind: jobs.KindRetention, Interval: 24 * time.Hour},
	}
	if got := a.Jobs.Schedules(); !slices.Equal(got, want) {
		t.Fatalf("periodic jobs = %+v, want %+v", got, want)
	}
}

// TestThePeriodicJobsRunBesideTheNotifier starts both River clients, as
// main does, and waits for each periodic job's first run (they run on
// start). In one River schema the notifier's client could be the elected
// leader, and only the leader enqueues periodic jobs: this would hang.
func TestThePeriodicJobsRunBesideTheNotifier(t *testing.T) {
	a := newApp(t)
	if err := a.Notifier.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Notifier.Stop(context.Background()) })
	if err := a.Jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{jobs.KindCleanup, jobs.KindGrantEndNotices, jobs.KindRetention}
	var done []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		done = nil
		err := a.DB.Gorm.Raw(`SELECT kind FROM `+db.JobsSchema+`.river_job WHERE queue = ? AND state = 'completed'
			ORDER BY kind`, jobs.Queue).Scan(&done).Error
		if err != nil {
			t.Fatal(err)
		}
		if len(done) >= len(want) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling for River's first runs, not waiting out an expiry
	}
	slices.Sort(want)
	if !slices.Equal(done, want) {
		t.Fatalf("completed periodic jobs = %v, want %v", done, want)
	}
	var leaked int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM public.river_job WHERE queue = ?`, jobs.Queue).Scan(&leaked)
	if leaked != 0 {
		t.Fatalf("%d maintenance jobs in notify's schema", leaked)
	}
}
