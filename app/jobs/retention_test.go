package jobs_test

import (
	"strings"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/jobs"
	"portal/app/web"
)

func retention(t *testing.T, a *apptest.TestApp) jobs.RetentionResult {
	t.Helper()
	res, err := a.Jobs.Retention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAnUnusedAccountIsWarnedAt23DaysAndDeletedAWeekLater follows one
// account from sign-up to deletion, and checks what is left behind.
func TestAnUnusedAccountIsWarnedAt23DaysAndDeletedAWeekLater(t *testing.T) {
	a := newApp(t)
	const email = "never.used@example.net"
	p := citizen(t, a, email, 22*day)
	if _, err := a.Sessions.Start(ctx, p.ID, web.AAL2); err != nil {
		t.Fatal(err)
	}
	declined := invite(t, a, email, "declined", p.ID)

	if res := retention(t, a); res.Warned != 0 || res.Deleted != 0 {
		t.Fatalf("at 22 days: %+v", res)
	}
	if got := emailsTo(t, a, email); len(got) != 0 {
		t.Fatalf("warned at 22 days: %q", got[0].Subject)
	}

	a.Clock.Advance(day + time.Minute) // 23 days and a minute old
	if res := retention(t, a); res.Warned != 1 || res.Deleted != 0 {
		t.Fatalf("at 23 days: %+v, want one warning", res)
	}
	warnedAt := a.Clock.Now()
	if res := retention(t, a); res.Warned != 0 {
		t.Fatalf("a second run warned again: %+v", res)
	}
	sent := emailsTo(t, a, email)
	if len(sent) != 1 {
		t.Fatalf("%d warnings, want 1", len(sent))
	}
	m := sent[0]
	if m.Subject != "Your Children's Services Online account will be deleted" ||
		m.Subject != a.T("email_account_unused.subject") {
		t.Fatalf("subject = %q", m.Subject)
	}
	if !strings.Contains(m.Body, a.URL+"/sign-in") || !strings.Contains(m.Body, "speak to your worker") {
		t.Fatalf("body = %q", m.Body)
	}
	for _, personal := range []string{email, "Wilhelmina", "Quartermaine"} {
		if strings.Contains(m.Subject+m.Body, personal) {
			t.Fatalf("the warning carries %q: %q", personal, m.Body)
		}
	}

	// 30 days old, but warned less than a week ago: kept.
	a.Clock.Set(warnedAt.Add(jobs.WarningNotice - time.Minute))
	if res := retention(t, a); res.Deleted != 0 || !exists(t, a, "people", p.ID) {
		t.Fatalf("deleted %+v less than a week after the warning", res)
	}

	a.Clock.Set(warnedAt.Add(jobs.WarningNotice))
	if res := retention(t, a); res.Deleted != 1 || exists(t, a, "people", p.ID) {
		t.Fatalf("a week after the warning: %+v, person still there: %v", res, exists(t, a, "people", p.ID))
	}
	if res := retention(t, a); res.Deleted != 0 {
		t.Fatalf("a second run deleted again: %+v", res)
	}
	var sessions int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM sessions WHERE person_id = ?`, p.ID).Scan(&sessions)
	if sessions != 0 {
		t.Fatalf("%d sessions outlived the account", sessions)
	}
	var holder *int64
	a.DB.Gorm.Raw(`SELECT person_id FROM invitations WHERE id = ?`, declined).Scan(&holder)
	if !exists(t, a, "invitations", declined) || holder != nil {
		t.Fatalf("the declined invitation should stay, without the person (person_id %v)", holder)
	}

	var events []struct {
		ActorID *int64
		Target  string
		Row     string
	}
	a.DB.Gorm.Raw(`SELECT actor_id, target, row_to_json(e)::text AS row FROM audit_events e WHERE action = ?`,
		jobs.AuditDeletedUnused).Scan(&events)
	if len(events) != 1 {
		t.Fatalf("%d %s events, want 1", len(events), jobs.AuditDeletedUnused)
	}
	e := events[0]
	if e.ActorID != nil || e.Target != "person:"+itoa(p.ID) {
		t.Fatalf("event actor %v target %q", e.ActorID, e.Target)
	}
	for _, personal := range []string{email, "never.used", "Wilhelmina", "Quartermaine"} {
		if strings.Contains(strings.ToLower(e.Row), strings.ToLower(personal)) {
			t.Fatalf("the audit event carries %q: %s", personal, e.Row)
		}
	}
}

// TestNobodyIsDeletedWithoutAWeeksWarning: an account already past 30 days
// when the job first sees it (the job was down) is warned, not deleted,
// and deleted only a week later.
func TestNobodyIsDeletedWithoutAWeeksWarning(t *testing.T) {
	a := newApp(t)
	p := citizen(t, a, "late@example.net", 45*day)
	if res := retention(t, a); res.Warned != 1 || res.Deleted != 0 {
		t.Fatalf("first run at 45 days: %+v, want a warning and no deletion", res)
	}
	a.Clock.Advance(6 * day)
	if res := retention(t, a); res.Deleted != 0 {
		t.Fatalf("deleted six days after the warning: %+v", res)
	}
	a.Clock.Advance(day)
	if res := retention(t, a); res.Deleted != 1 || exists(t, a, "people", p.ID) {
		t.Fatalf("seven days after the warning: %+v", res)
	}
	if n := len(emailsTo(t, a, "late@example.net")); n != 1 {
		t.Fatalf("%d emails, want the one warning", n)
	}
}

// TestUsedAccountsAndStaffAreNeverWarnedOrDeleted: a grant of any kind, or
// an invitation still on its way, keeps an account; staff are never
// touched. Ended invitations do not count (the control rows).
func TestUsedAccountsAndStaffAreNeverWarnedOrDeleted(t *testing.T) {
	a := newApp(t)
	r := record(t, a)
	const age = 60 * day
	type keepCase struct {
		name  string
		make  func(email string) *accounts.Person
		kept  bool
		email string
	}
	cases := []keepCase{
		{name: "a grant in force", kept: true, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			grant(t, a, p, r)
			return p
		}},
		{name: "a revoked grant", kept: true, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			exec(t, a, `UPDATE grants SET revoked_at = ? WHERE id = ?`, a.Clock.Now(), grant(t, a, p, r))
			return p
		}},
		{name: "a grant that ended", kept: true, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			exec(t, a, `UPDATE grants SET ends_at = ? WHERE id = ?`, a.Clock.Now().Add(-day), grant(t, a, p, r))
			return p
		}},
		{name: "staff", kept: true, make: func(email string) *accounts.Person {
			return person(t, a, email, accounts.RoleStaff, age)
		}},
		{name: "an invitation accepted under another address", kept: true, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			invite(t, a, "other."+email, "accepted", p.ID)
			return p
		}},
		{name: "an invitation withdrawn", kept: false, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			invite(t, a, email, "withdrawn", 0)
			return p
		}},
		{name: "an invitation made void", kept: false, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			invite(t, a, email, "void", 0)
			return p
		}},
		{name: "nothing at all", kept: false, make: func(email string) *accounts.Person {
			return citizen(t, a, email, age)
		}},
	}
	for _, state := range []string{"code_sent", "code_confirmed", "invitation_sent", "accepted"} {
		cases = append(cases, keepCase{name: "an invitation in state " + state, kept: true, make: func(email string) *accounts.Person {
			p := citizen(t, a, email, age)
			// The address as the worker typed it: case does not matter.
			invite(t, a, strings.ToUpper(email), state, 0)
			return p
		}})
	}
	people := map[int]*accounts.Person{}
	for i := range cases {
		cases[i].email = "holder" + itoa(int64(i)) + "@example.net"
		people[i] = cases[i].make(cases[i].email)
	}
	retention(t, a)
	a.Clock.Advance(jobs.WarningNotice + day)
	retention(t, a)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			warned := len(emailsTo(t, a, tc.email)) > 0
			gone := !exists(t, a, "people", people[i].ID)
			if tc.kept && (warned || gone) {
				t.Fatalf("warned %v, deleted %v; want neither", warned, gone)
			}
			if !tc.kept && !(warned && gone) {
				t.Fatalf("warned %v, deleted %v; want both", warned, gone)
			}
		})
	}
}

// TestAWarningLapsesWhenTheAccountIsUsed: warned, then invited, then the
// invitation withdrawn: the old warning does not count, so the account is
// warned again and kept another week.
func TestAWarningLapsesWhenTheAccountIsUsed(t *testing.T) {
	a := newApp(t)
	const email = "changed.mind@example.net"
	p := citizen(t, a, email, 24*day)
	if res := retention(t, a); res.Warned != 1 {
		t.Fatalf("first run: %+v", res)
	}
	inv := invite(t, a, email, "code_sent", 0)
	a.Clock.Advance(day)
	if res := retention(t, a); res.Unwarned != 1 || res.Warned != 0 {
		t.Fatalf("after the invitation: %+v, want the warning lifted", res)
	}
	exec(t, a, `UPDATE invitations SET state = 'withdrawn', ended_at = ? WHERE id = ?`, a.Clock.Now(), inv)
	a.Clock.Advance(7 * day) // a week after the first warning
	if res := retention(t, a); res.Deleted != 0 || res.Warned != 1 {
		t.Fatalf("after the withdrawal: %+v, want a new warning and no deletion", res)
	}
	a.Clock.Advance(jobs.WarningNotice)
	if res := retention(t, a); res.Deleted != 1 || exists(t, a, "people", p.ID) {
		t.Fatalf("a week after the new warning: %+v", res)
	}
	if n := len(emailsTo(t, a, email)); n != 2 {
		t.Fatalf("%d warnings, want 2", n)
	}
}
