package jobs_test

import (
	"slices"
	"testing"
	"time"

	"portal/app/jobs"
	"portal/app/notify"
)

// TestThePeriodicJobsAreCleanupNoticesRetentionAndSweep lists what New
// registers on the client: exactly these four, at these intervals.
func TestThePeriodicJobsAreCleanupNoticesRetentionAndSweep(t *testing.T) {
	a := newApp(t)
	want := []jobs.Schedule{
		{Kind: jobs.KindCleanup, Interval: time.Hour},
		{Kind: jobs.KindGrantEndNotices, Interval: time.Hour},
		{Kind: jobs.KindRetention, Interval: 24 * time.Hour},
		{Kind: jobs.KindStorageSweep, Interval: 24 * time.Hour},
	}
	if got := a.Jobs.Schedules(); !slices.Equal(got, want) {
		t.Fatalf("periodic jobs = %+v, want %+v", got, want)
	}
}

// TestThePeriodicJobsRunBesideTheNotifier starts the one River client with
// the jobs scheduled, as main does, and waits for each periodic job's
// first run (they run on start) and for a message sent meanwhile.
func TestThePeriodicJobsRunBesideTheNotifier(t *testing.T) {
	a := newApp(t)
	if err := a.Jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Jobs.Stop)
	want := []string{jobs.KindCleanup, jobs.KindGrantEndNotices, jobs.KindRetention, jobs.KindStorageSweep}
	var done []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		done = nil
		err := a.DB.Gorm.Raw(`SELECT kind FROM river_job WHERE queue = ? AND state = 'completed'
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
	if err := a.Notifier.Send(ctx, nil, aMessage); err != nil {
		t.Fatal(err)
	}
	if err := a.Notifier.Drain(ctx); err != nil {
		t.Fatalf("a message sent beside the jobs: %v", err)
	}
}

// TestMessagesAloneRunNoScheduledWork: a test that reads the outbox starts
// the one client to work the messages; nothing scheduled runs with them.
func TestMessagesAloneRunNoScheduledWork(t *testing.T) {
	a := newApp(t)
	if err := a.Notifier.Send(ctx, nil, aMessage); err != nil {
		t.Fatal(err)
	}
	if err := a.Notifier.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var worked, maintenance int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM river_job WHERE queue = ? AND state = 'completed'`, notify.Queue).Scan(&worked)
	a.DB.Gorm.Raw(`SELECT count(*) FROM river_job WHERE queue = ?`, jobs.Queue).Scan(&maintenance)
	if worked != 1 || maintenance != 0 {
		t.Fatalf("%d message(s) worked (want 1), %d scheduled job(s) queued (want 0)", worked, maintenance)
	}
}

// aMessage is any message the outbox takes.
var aMessage = notify.Message{Channel: notify.Email, To: "carer@example.org", Template: "email_verification_code",
	Lang: "en", Data: map[string]string{"Code": "424242"}}
