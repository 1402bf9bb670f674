package jobs_test

import (
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/apptest"
	"portal/app/clock"
	"portal/app/jobs"
)

func notices(t *testing.T, a *apptest.TestApp) int {
	t.Helper()
	n, err := a.Jobs.SendGrantEndNotices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// today is the app clock's day in London, as a worker records a placement end.
func today(a *apptest.TestApp) time.Time { return a.Clock.Now().In(clock.London) }

// TestTheCarerIsToldOnceThatAccessEndsWithoutNames: after a placement
// ends the holder gets one email, which names no one and no record.
func TestTheCarerIsToldOnceThatAccessEndsWithoutNames(t *testing.T) {
	a := newApp(t)
	r := record(t, a)
	const email = "carer@example.net"
	carer := citizen(t, a, email, 90*day)
	g := grant(t, a, carer, r)
	if n := notices(t, a); n != 0 {
		t.Fatalf("%d notices before any placement ended", n)
	}
	ends, err := access.NewStore(a.DB.Gorm, a.Clock).EndPlacement(ctx, r.ID, g, today(a))
	if err != nil {
		t.Fatal(err)
	}
	if n := notices(t, a); n != 1 {
		t.Fatalf("%d notices, want 1", n)
	}
	a.Clock.Advance(time.Hour)
	if n := notices(t, a); n != 0 {
		t.Fatalf("the second run sent %d more", n)
	}
	sent := emailsTo(t, a, email)
	if len(sent) != 1 {
		t.Fatalf("%d emails, want 1", len(sent))
	}
	m := sent[0]
	if m.Subject != "Your access to a record in Children's Services Online is ending" ||
		m.Subject != a.T("email_access_ending.subject") {
		t.Fatalf("subject = %q", m.Subject)
	}
	if !strings.Contains(m.Body, a.URL+jobs.AccessEndingLink) || !strings.Contains(m.Body, "placement has ended") {
		t.Fatalf("body = %q", m.Body)
	}
	endsLondon := ends.In(clock.London)
	for _, personal := range []string{email, "Wilhelmina", "Quartermaine", "Ellie", "Zebedee", r.CaseReference,
		endsLondon.Format("2 January"), endsLondon.Format("2 Jan"), endsLondon.Format("02/01"), endsLondon.Format(time.DateOnly),
		today(a).Format("2 January"), today(a).Format(time.DateOnly)} {
		if strings.Contains(m.Subject+m.Body, personal) {
			t.Fatalf("the notice carries %q: %q", personal, m.Body)
		}
	}
}

// TestNoticesGoOnlyWhileAccessIsEnding: none for a revoked grant, a grant
// already ended, a deactivated account or a placement ending in the
// future (until its day); a new end recorded gets a new notice.
func TestNoticesGoOnlyWhileAccessIsEnding(t *testing.T) {
	a := newApp(t)
	store := access.NewStore(a.DB.Gorm, a.Clock)
	end := func(g int64, r int64, day time.Time) {
		t.Helper()
		if _, err := store.EndPlacement(ctx, r, g, day); err != nil {
			t.Fatal(err)
		}
	}
	holders := map[string]int64{}
	for _, name := range []string{"revoked", "ended", "deactivated", "future"} {
		r := record(t, a)
		p := citizen(t, a, name+"@example.net", 90*day)
		holders[name] = grant(t, a, p, r)
		switch name {
		case "revoked":
			end(holders[name], r.ID, today(a))
			if _, err := store.Revoke(ctx, r.ID, holders[name], 0, "test"); err != nil {
				t.Fatal(err)
			}
		case "ended":
			// Ended nine days ago: access ended yesterday (7 days' grace).
			end(holders[name], r.ID, today(a).AddDate(0, 0, -9))
		case "deactivated":
			end(holders[name], r.ID, today(a))
			exec(t, a, `UPDATE people SET status = 'deactivated' WHERE id = ?`, p.ID)
		case "future":
			end(holders[name], r.ID, today(a).AddDate(0, 0, 3))
		}
	}
	if n := notices(t, a); n != 0 {
		t.Fatalf("%d notices, want none", n)
	}
	a.Clock.Advance(3 * day)
	if n := notices(t, a); n != 1 || len(emailsTo(t, a, "future@example.net")) != 1 {
		t.Fatalf("on the placement's last day: %d notices, want the future one", n)
	}
	// The worker corrects the end: the holder hears about the new one.
	var recordID int64
	a.DB.Gorm.Raw(`SELECT record_id FROM grants WHERE id = ?`, holders["future"]).Scan(&recordID)
	end(holders["future"], recordID, today(a).AddDate(0, 0, -1))
	if n := notices(t, a); n != 1 || len(emailsTo(t, a, "future@example.net")) != 2 {
		t.Fatalf("after a new end: %d notices, want 1", n)
	}
	for _, name := range []string{"revoked", "ended", "deactivated"} {
		if got := emailsTo(t, a, name+"@example.net"); len(got) != 0 {
			t.Errorf("%s: notified", name)
		}
	}
}
