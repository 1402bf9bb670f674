package access_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/clock"
	"portal/app/records"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestGraceEndIsMidnightInLondonAfterTheSeventhDay(t *testing.T) {
	for _, tc := range []struct {
		name, ended string
		want        time.Time
	}{
		{"in winter (GMT)", "2026-11-23", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"in summer (BST)", "2026-06-01", time.Date(2026, 6, 8, 23, 0, 0, 0, time.UTC)},
		{"across the clocks going back", "2026-10-20", time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			day, _ := time.ParseInLocation(time.DateOnly, tc.ended, clock.London)
			if got := access.GraceEnd(day); !got.Equal(tc.want) {
				t.Fatalf("GraceEnd(%s) = %s, want %s", tc.ended, got, tc.want)
			}
		})
	}
}

func TestAccessEndsSevenDaysAfterThePlacementEnds(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "Fostering")
	child := a.NewRecord(t, team, "Ellie", "Smith")
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, child, access.FosterCarer)
	worker := a.NewWorker(t, "worker@example.org", team)
	staff := a.Client(t)
	a.SignIn(t, staff, worker)
	rec := "/staff/records/" + strconv.FormatInt(child.ID, 10)
	page := staff.Get(rec)
	action, _ := page.Doc.Find(`form[action$="/placement-end"]`).Attr("action")
	// The placement ends on the day the test clock starts: Monday 23 November 2026.
	if res := staff.PostForm(action, map[string][]string{"ended_on": {"2026-11-23"}}); res.Header.Get("Location") != rec {
		t.Fatalf("recording the placement end = %d", res.StatusCode)
	}
	dash := "/records/" + strconv.FormatInt(child.ID, 10)
	lastSecond := time.Date(2026, 11, 30, 23, 59, 59, 0, clock.London)
	for _, tc := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"on the day it ended", apptest.Start, http.StatusOK},
		{"at 23:59:59 on the 7th day after", lastSecond, http.StatusOK},
		{"one second later", lastSecond.Add(time.Second), http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Clock.Set(tc.at)
			c := a.Client(t)
			a.SignIn(t, c, carer)
			res := c.Get(dash)
			if res.StatusCode != tc.want {
				t.Fatalf("the dashboard = %d, want %d", res.StatusCode, tc.want)
			}
			if tc.want == http.StatusOK && !strings.Contains(res.Text(".govuk-inset-text"), "30 November 2026, 23:59") {
				t.Fatalf("the dashboard does not say until when: %q", res.Text(".govuk-inset-text"))
			}
		})
	}
}

func TestRouteByRoleAndRecord(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north, south := a.NewTeam(t, "North"), a.NewTeam(t, "South")
	held := a.NewRecord(t, north, "Ellie", "Smith")
	notHeld := a.NewRecord(t, north, "Noah", "Jones")
	otherTeam := a.NewRecord(t, south, "Ava", "Brown")
	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.Grant(t, parent, held, access.Parent)
	worker := a.NewWorker(t, "worker@example.org", north)
	admin := a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	const ok, signIn, notFound = http.StatusOK, http.StatusSeeOther, http.StatusNotFound
	id := func(r int64) string { return strconv.FormatInt(r, 10) }
	routes := []struct {
		path                           string
		anonymous, parent, worker, adm int
	}{
		{"/records/" + id(held.ID), signIn, ok, notFound, notFound},
		{"/records/" + id(held.ID) + "/documents", signIn, ok, notFound, notFound},
		{"/records/" + id(notHeld.ID), signIn, notFound, notFound, notFound},
		{"/records/" + id(otherTeam.ID), signIn, notFound, notFound, notFound},
		{"/records/999999", signIn, notFound, notFound, notFound},
		{"/staff/records", signIn, notFound, ok, notFound},
		{"/staff/records/" + id(held.ID), signIn, notFound, ok, notFound},
		{"/staff/records/" + id(notHeld.ID), signIn, notFound, ok, notFound},
		{"/staff/records/" + id(otherTeam.ID), signIn, notFound, notFound, notFound},
		{"/staff/records/999999", signIn, notFound, notFound, notFound},
		{"/staff/records/" + id(otherTeam.ID) + "/invite", signIn, notFound, notFound, notFound},
		{"/staff/activations", signIn, notFound, ok, notFound},
	}
	for _, r := range routes {
		for _, v := range []struct {
			role   string
			person *accounts.Person
			want   int
		}{{"anonymous", nil, r.anonymous}, {"parent", parent, r.parent}, {"worker", worker, r.worker}, {"admin", admin, r.adm}} {
			t.Run("path="+r.path+" role="+v.role, func(t *testing.T) {
				c := a.Client(t)
				if v.person != nil {
					a.SignIn(t, c, v.person)
				}
				res := c.Get(r.path)
				if res.StatusCode != v.want {
					t.Fatalf("status %d, want %d", res.StatusCode, v.want)
				}
				// The page's words, not its random tokens (a CSRF token or a
				// form's key may hold "Ava" by chance).
				if text := res.Text("html"); v.want == notFound && (strings.Contains(text, "Ava") || strings.Contains(text, "Noah")) {
					t.Fatal("a 404 names the record")
				}
			})
		}
	}
}

func TestCoHoldersNeverSeeEachOther(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "North")
	child := a.NewRecord(t, team, "Ellie", "Smith")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	dad := a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	a.DB.Gorm.Exec(`UPDATE people SET given_name = 'Darren', family_name = 'Dadson' WHERE id = ?`, dad.ID)
	a.Grant(t, mum, child, access.Parent)
	a.Grant(t, dad, child, access.Parent)
	c := a.Client(t)
	a.SignIn(t, c, mum)
	base := "/records/" + strconv.FormatInt(child.ID, 10)
	for _, path := range []string{"/account", base, base + "/messages", base + "/documents", base + "/forms", "/profile"} {
		res := c.Get(path)
		for _, other := range []string{"Darren", "Dadson", "dad@example.net"} {
			if strings.Contains(res.Body, other) {
				t.Errorf("%s shows the other holder (%s)", path, other)
			}
		}
	}
	held, err := access.NewStore(a.DB.Gorm, a.Clock).RecordsOf(context.Background(), mum.ID)
	if err != nil || len(held) != 1 {
		t.Fatalf("RecordsOf = %v, %v", held, err)
	}
}

func TestACarerPlacedAgainGetsTheRecordBack(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "Fostering")
	child := a.NewRecord(t, team, "Ellie", "Smith")
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, child, access.FosterCarer)
	store := access.NewStore(a.DB.Gorm, a.Clock)
	held, _ := store.RecordsOf(context.Background(), carer.ID)
	if _, err := store.EndPlacement(context.Background(), child.ID, held[0].GrantID, apptest.Start); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(30 * 24 * time.Hour)
	if _, err := store.Holding(context.Background(), carer.ID, child.ID); err == nil {
		t.Fatal("access lasts past the grace")
	}
	a.Grant(t, carer, child, access.FosterCarer) // a new placement, a new activation
	if _, err := store.Holding(context.Background(), carer.ID, child.ID); err != nil {
		t.Fatalf("after a new activation the carer still cannot reach the record: %v", err)
	}
}

func TestRelationshipsFitTheKindOfRecord(t *testing.T) {
	for _, tc := range []struct {
		relationship, kind string
		fits               bool
	}{
		{access.Parent, "child", true},
		{access.Parent, "foster_carer", false},
		{access.FosterCarer, "child", true},
		{access.FosterCarer, "foster_carer", false},
		{access.Self, "foster_carer", true},
		{access.Self, "child", false},
		{access.Network, "adult", true},
	} {
		if got := access.Fits(tc.relationship, tc.kind); got != tc.fits {
			t.Errorf("Fits(%s, %s) = %v, want %v", tc.relationship, tc.kind, got, tc.fits)
		}
	}
}

// TestTheRecordSaysWhoToContactAndTheNumberCalls: a holder sees who works
// with the record and how to reach them, and the urgent-matters number is
// a tel: link wherever it appears on their pages.
func TestTheRecordSaysWhoToContactAndTheNumberCalls(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "North Locality Team")
	worker := a.NewWorker(t, "worker@example.org", team)
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	sam := a.NewRecord(t, team, "Sam", "Smith")
	a.DB.Gorm.Exec(`UPDATE records SET allocated_worker_id = ? WHERE id = ?`, worker.ID, ellie.ID)
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, ellie, access.Parent)
	a.Grant(t, mum, sam, access.Parent)
	c := a.Client(t)
	a.SignIn(t, c, mum)
	path := func(r *records.Record) string { return "/records/" + strconv.FormatInt(r.ID, 10) }

	if got, want := c.Get(path(ellie)).Text("#record-contact"), a.T("records.dashboard.contact_worker", "Worker", worker.GivenName+" "+worker.FamilyName, "Team", team.Name); !strings.Contains(got, want) {
		t.Errorf("the dashboard says %q, want %q", got, want)
	}
	if got, want := c.Get(path(sam)).Text("#record-contact"), a.T("records.dashboard.contact_team", "Team", team.Name); !strings.Contains(got, want) {
		t.Errorf("without a worker the dashboard says %q, want %q", got, want)
	}
	for _, p := range []string{path(ellie), path(ellie) + "/messages/new"} {
		page := c.Get(p)
		if page.Doc.Find(`.govuk-warning-text a[href="tel:+443448008020"]`).Length() != 1 {
			t.Errorf("%s: the urgent-matters number is not a tel: link: %q", p, page.Text(".govuk-warning-text"))
		}
	}
}

// TestHoldsFollowsTheRuleOfAccess: Holds, a live stream's re-check, says
// what Holding says, whatever ended the access.
func TestHoldsFollowsTheRuleOfAccess(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "Fostering")
	ellie, sam := a.NewRecord(t, team, "Ellie", "Smith"), a.NewRecord(t, team, "Sam", "Jones")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, ellie, access.Parent)
	a.Grant(t, carer, ellie, access.FosterCarer)
	store := access.NewStore(a.DB.Gorm, a.Clock)
	ctx := context.Background()
	grantOf := func(p *accounts.Person) access.Grant {
		var g access.Grant
		if err := a.DB.Gorm.Where("person_id = ? AND record_id = ?", p.ID, ellie.ID).Take(&g).Error; err != nil {
			t.Fatal(err)
		}
		return g
	}
	if _, err := store.EndPlacement(ctx, ellie.ID, grantOf(carer).ID, apptest.Start.AddDate(0, 0, -10)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func(t *testing.T)
		who    *accounts.Person
		record *records.Record
		want   bool
	}{
		{"a grant in force holds", nil, mum, ellie, true},
		{"no grant for the record does not", nil, mum, sam, false},
		{"a placement's grace passed does not", nil, carer, ellie, false},
		{"a deactivated account does not", func(t *testing.T) {
			if err := a.DB.Gorm.Exec(`UPDATE people SET status = 'deactivated' WHERE id = ?`, mum.ID).Error; err != nil {
				t.Fatal(err)
			}
		}, mum, ellie, false},
		{"a revoked grant does not", func(t *testing.T) {
			if err := a.DB.Gorm.Exec(`UPDATE people SET status = 'active' WHERE id = ?`, mum.ID).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := store.Revoke(ctx, ellie.ID, grantOf(mum).ID, 0, "Court order"); err != nil {
				t.Fatal(err)
			}
		}, mum, ellie, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change(t)
			}
			holds, err := store.Holds(ctx, st.who.ID, st.record.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, err = store.Holding(ctx, st.who.ID, st.record.ID)
			if holding := err == nil; holds != st.want || holding != st.want {
				t.Fatalf("Holds = %v, Holding found = %v (%v), want %v", holds, holding, err, st.want)
			}
		})
	}
}
