package staff_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/records"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// team adds a team named name.
func team(t *testing.T, a *apptest.TestApp, name string) *records.Team {
	t.Helper()
	return a.NewTeam(t, name)
}

// inTeam puts a member of staff in team tm.
func inTeam(t *testing.T, a *apptest.TestApp, p *accounts.Person, tm *records.Team) *accounts.Person {
	t.Helper()
	if err := a.DB.Gorm.Model(&accounts.Person{}).Where("id = ?", p.ID).Update("team_id", tm.ID).Error; err != nil {
		t.Fatal(err)
	}
	p.TeamID = &tm.ID
	return p
}

// record adds a child's record named "Ellie Smith" to team tm and gives
// holder a grant of it.
func record(t *testing.T, a *apptest.TestApp, tm *records.Team, holder *accounts.Person) *records.Record {
	t.Helper()
	r := &records.Record{Kind: records.KindChild, CaseReference: fmt.Sprintf("CR-%d", holder.ID), GivenName: "Ellie",
		FamilyName: "Smith", TeamID: tm.ID}
	if err := records.NewStore(a.DB.Gorm).Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	err := a.DB.Gorm.Transaction(func(tx *gorm.DB) error {
		return access.NewStore(a.DB.Gorm, a.Clock).Give(context.Background(), tx,
			[]access.Grant{{PersonID: holder.ID, RecordID: r.ID, Relationship: access.Parent}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signedIn is a client of person, with the CSRF token of a page.
func signedIn(t *testing.T, a *apptest.TestApp, p *accounts.Person) *apptest.Client {
	t.Helper()
	c := a.Client(t)
	a.SignIn(t, c, p)
	if res := c.Get("/profile"); res.StatusCode != http.StatusOK {
		t.Fatalf("%s is not signed in: /profile = %d", p.Email, res.StatusCode)
	}
	return c
}

func admin(t *testing.T, a *apptest.TestApp) *accounts.Person {
	t.Helper()
	return a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
}

// events counts audit events of action on target.
func events(t *testing.T, a *apptest.TestApp, action, target string) int64 {
	t.Helper()
	var n int64
	a.DB.Gorm.Table("audit_events").Where("action = ? AND target = ?", action, target).Count(&n)
	return n
}

func target(p *accounts.Person) string { return fmt.Sprintf("person:%d", p.ID) }

// TestAdminRoutesByRole proves default deny for the admin's pages: only a
// portal admin reaches them; everyone else signed in gets the 404 of a
// page that does not exist, and an anonymous visitor the sign-in page.
func TestAdminRoutesByRole(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	citizen := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	worker := inTeam(t, a, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker), north)
	manager := inTeam(t, a, a.NewPerson(t, "manager@example.org", accounts.RoleStaff, accounts.StaffTeamManager), north)
	adm := admin(t, a)
	const (
		ok       = http.StatusOK
		toSignIn = http.StatusSeeOther
		notFound = http.StatusNotFound
		invalid  = http.StatusUnprocessableEntity
		done     = http.StatusSeeOther
	)
	person := fmt.Sprintf("/staff/admin/people/%d", citizen.ID)
	routes := []struct {
		method, path string
		admin        int // anonymous: to sign-in; citizen, worker, team manager: 404
	}{
		{"GET", "/staff/admin", ok},
		{"GET", "/staff/admin/", ok},
		{"GET", "/staff/admin/teams", ok},
		{"GET", "/staff/admin/staff", ok},
		{"GET", "/staff/admin/people", ok},
		{"GET", "/staff/admin/people?q=parent", ok},
		{"GET", person, ok},
		{"GET", "/staff/admin/people/999999", notFound},
		{"GET", "/staff/admin/people/abc", notFound},
		{"GET", "/staff/admin/anything", notFound},
		{"POST", "/staff/admin/teams", invalid},
		{"POST", "/staff/admin/staff", invalid},
		{"POST", person + "/reactivate", done},
		{"POST", "/staff/admin/people/999999/deactivate", notFound},
	}
	for _, r := range routes {
		for _, v := range []struct {
			role   string
			person *accounts.Person
			want   int
		}{{"anonymous", nil, toSignIn}, {"citizen", citizen, notFound}, {"worker", worker, notFound},
			{"team_manager", manager, notFound}, {"portal_admin", adm, r.admin}} {
			t.Run("method="+r.method+" path="+r.path+" role="+v.role, func(t *testing.T) {
				c := a.Client(t)
				if v.person != nil {
					a.SignIn(t, c, v.person)
				}
				// A CSRF token, as a page with the form would give.
				if v.person == nil {
					c.Get("/sign-in") // a visitor's comes with a form
				} else {
					c.Get("/")
				}
				var res *apptest.Response
				if r.method == "POST" {
					res = c.PostForm(r.path, nil)
				} else {
					res = c.Get(r.path)
				}
				if res.StatusCode != v.want {
					t.Fatalf("status %d, want %d", res.StatusCode, v.want)
				}
				if v.person == nil && !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
					t.Fatalf("anonymous visitor sent to %q", res.Header.Get("Location"))
				}
			})
		}
	}
}

func TestOnlyPortalAdminsSeeTheAdminNavigation(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	worker := inTeam(t, a, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker), north)
	for _, tc := range []struct {
		person *accounts.Person
		want   int
	}{{worker, 0}, {admin(t, a), 1}} {
		t.Run("role="+tc.person.StaffRole, func(t *testing.T) {
			page := signedIn(t, a, tc.person).Get("/staff")
			if got := page.Doc.Find(`.app-staff-nav a[href="/staff/admin"]`).Length(); got != tc.want {
				t.Fatalf("%d Admin links in the staff navigation, want %d", got, tc.want)
			}
			if page.Doc.Find(`.app-staff-nav a[href="/staff"]`).Length() != 1 {
				t.Fatal("the Staff home item is gone")
			}
		})
	}
}

func TestAdminAddsATeam(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North Locality")
	inTeam(t, a, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker), north)
	record(t, a, north, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	adm := admin(t, a)
	c := signedIn(t, a, adm)

	page := c.Get("/staff/admin/teams")
	if got := page.Text("#teams tbody tr"); got != "North Locality 1 1" {
		t.Fatalf("the teams list says %q, want the team with 1 member of staff and 1 record", got)
	}
	if strings.Contains(page.Body, "Ellie") {
		t.Fatal("the teams page names a record")
	}
	for _, tc := range []struct{ name, error string }{
		{"", "staff.admin.teams.error_name"},
		{"  north LOCALITY ", "staff.admin.teams.error_taken"},
		{strings.Repeat("x", 101), "staff.admin.error_too_long"},
	} {
		t.Run("name="+tc.name, func(t *testing.T) {
			res := c.PostForm("/staff/admin/teams", url.Values{"name": {tc.name}})
			if res.StatusCode != http.StatusUnprocessableEntity || res.Text(".govuk-error-summary a") != a.T(tc.error) {
				t.Fatalf("= %d %q, want 422 saying %q", res.StatusCode, res.Text(".govuk-error-summary"), a.T(tc.error))
			}
			if res.Doc.Find("#name-error").Length() != 1 {
				t.Fatal("the field shows no error")
			}
		})
	}

	res := c.PostForm("/staff/admin/teams", url.Values{"name": {" South Locality "}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/admin/teams" {
		t.Fatalf("Add team = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	page = c.Get("/staff/admin/teams")
	if !strings.Contains(page.Text("#teams"), "South Locality 0 0") || page.Text("#flash") == "" {
		t.Fatalf("after Add team: %q, flash %q", page.Text("#teams"), page.Text("#flash"))
	}
	var south records.Team
	a.DB.Gorm.Where("name = ?", "South Locality").Take(&south)
	if events(t, a, "team.created", fmt.Sprintf("team:%d", south.ID)) != 1 {
		t.Fatal("no team.created audit event")
	}
}

func TestAdminAddsAMemberOfStaff(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	adm := admin(t, a)
	c := signedIn(t, a, adm)
	c.Get("/staff/admin/staff")
	form := func(email, role, teamID string) url.Values {
		return url.Values{"email": {email}, "given_name": {"Robin"}, "family_name": {"Quinlan"},
			"staff_role": {role}, "team": {teamID}}
	}
	northID := fmt.Sprint(north.ID)

	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		error string
	}{
		{"an email with a citizen's account", form("Parent@Example.net", accounts.StaffWorker, northID), "email", "staff.admin.staff.error_taken"},
		{"an email with a staff account", form("ADMIN@example.org", accounts.StaffWorker, northID), "email", "staff.admin.staff.error_taken"},
		{"a worker without a team", form("new@example.org", accounts.StaffWorker, ""), "team", "staff.admin.staff.error_team"},
		{"a team manager in no such team", form("new@example.org", accounts.StaffTeamManager, "999999"), "team", "staff.admin.staff.error_team"},
		{"a portal admin in a team", form("new@example.org", accounts.StaffPortalAdmin, northID), "team", "staff.admin.staff.error_admin_team"},
		{"no role", form("new@example.org", "", northID), "staff_role", "staff.admin.staff.error_role"},
		{"not an email address", form("Robin <new@example.org>", accounts.StaffWorker, northID), "email", "staff.admin.staff.error_email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.PostForm("/staff/admin/staff", tc.form)
			if res.StatusCode != http.StatusUnprocessableEntity || res.Text(".govuk-error-summary a") != a.T(tc.error) {
				t.Fatalf("= %d %q, want 422 saying %q", res.StatusCode, res.Text(".govuk-error-summary"), a.T(tc.error))
			}
			if href, _ := res.Doc.Find(".govuk-error-summary a").Attr("href"); href != "#"+tc.field ||
				res.Doc.Find("#"+tc.field).Length() != 1 {
				t.Fatalf("the summary links to %q, not to the %s field", href, tc.field)
			}
			if v, _ := res.Doc.Find("#given_name").Attr("value"); v != "Robin" {
				t.Fatalf("what was typed is lost on a 422: %q", v)
			}
		})
	}
	var people int64
	a.DB.Gorm.Model(&accounts.Person{}).Count(&people)
	if people != 2 {
		t.Fatalf("%d people after refused forms, want 2", people)
	}

	res := c.PostForm("/staff/admin/staff", form("robin.quinlan@example.org", accounts.StaffWorker, northID))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/admin/staff" {
		t.Fatalf("Add member of staff = %d %q %q", res.StatusCode, res.Header.Get("Location"), res.Text(".govuk-error-summary"))
	}
	p, err := accounts.NewStore(a.DB.Gorm).ByEmail(context.Background(), "robin.quinlan@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != accounts.RoleStaff || p.StaffRole != accounts.StaffWorker || p.TeamID == nil || *p.TeamID != north.ID ||
		p.PasswordHash != "" || p.Status != accounts.StatusActive {
		t.Fatalf("created %+v", p)
	}
	email := a.LastSent(t, "email", p.Email)
	if email.Subject != a.T("email_staff_account.subject") || !strings.Contains(email.Body, a.URL+"/forgot-password") {
		t.Fatalf("the email is %q: %q", email.Subject, email.Body)
	}
	for _, personal := range []string{"Robin", "Quinlan", p.Email} {
		if strings.Contains(email.Subject+email.Body, personal) {
			t.Fatalf("the email holds %q", personal)
		}
	}
	if events(t, a, "staff.created", target(p)) != 1 {
		t.Fatal("no staff.created audit event")
	}
	var leaked int64
	a.DB.Gorm.Table("audit_events").Where("target LIKE ?", "%robin%").Count(&leaked)
	if leaked != 0 {
		t.Fatal("the audit trail holds the email address")
	}
	list := c.Get("/staff/admin/staff")
	if row := list.Text(fmt.Sprintf(`#staff tr:has(a[href="/staff/admin/people/%d"])`, p.ID)); !strings.Contains(row, "Robin Quinlan robin.quinlan@example.org Worker North Active Never") {
		t.Fatalf("the staff list shows %q", row)
	}

	t.Run("the account signs in only once it has a password", func(t *testing.T) {
		signIn := a.Client(t)
		signIn.Get("/sign-in")
		res := signIn.PostForm("/sign-in", url.Values{"email": {p.Email}, "password": {"anything at all"}})
		if res.StatusCode != http.StatusUnprocessableEntity || res.Text(".govuk-error-summary a") != a.T("auth.sign_in.error_wrong") {
			t.Fatalf("sign-in without a password = %d %q", res.StatusCode, res.Text(".govuk-error-summary"))
		}
	})
	t.Run("a portal admin has no team", func(t *testing.T) {
		res := c.PostForm("/staff/admin/staff", form("second.admin@example.org", accounts.StaffPortalAdmin, ""))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("= %d %q", res.StatusCode, res.Text(".govuk-error-summary"))
		}
		p, _ := accounts.NewStore(a.DB.Gorm).ByEmail(context.Background(), "second.admin@example.org")
		if p == nil || p.StaffRole != accounts.StaffPortalAdmin || p.TeamID != nil {
			t.Fatalf("created %+v", p)
		}
	})
}

func TestAdminRemovesAPhoneNumber(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	holder := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, holder, "+447911123456", true)
	theirs := signedIn(t, a, holder)
	adm := admin(t, a)
	c := signedIn(t, a, adm)
	path := fmt.Sprintf("/staff/admin/people/%d", holder.ID)

	page := c.Get(path)
	if got := page.Text("#person-phone"); got != holder.PhoneHint || strings.Contains(page.Body, "7911 123456") {
		t.Fatalf("the phone shows as %q, want the masked %q only", got, holder.PhoneHint)
	}
	if !strings.Contains(page.Body, a.T("staff.admin.person.phone_explain", "Hours", 72)) {
		t.Fatal("the page does not explain the 72 hours")
	}
	res := c.PostForm(path+"/remove-phone", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
		t.Fatalf("Remove phone number = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := theirs.Get("/profile"); got.StatusCode != http.StatusSeeOther {
		t.Fatalf("the holder's session lives on: /profile = %d", got.StatusCode)
	}
	p, _ := accounts.NewStore(a.DB.Gorm).Get(context.Background(), holder.ID)
	if p.PhoneSealed != "" || p.PhoneHint != "" || p.PhoneRemovedAt == nil || !p.PhoneRemovedAt.Equal(a.Clock.Now()) {
		t.Fatalf("after removal: sealed %q hint %q removed at %v", p.PhoneSealed, p.PhoneHint, p.PhoneRemovedAt)
	}
	if events(t, a, "phone.removed", target(holder)) != 1 {
		t.Fatal("no phone.removed audit event")
	}
	page = c.Get(path)
	if page.Text("#flash") != a.T("flash.success")+" "+a.T("staff.admin.person.phone_removed") ||
		page.Text("#person-phone") != a.T("staff.admin.person.phone_removed_none") {
		t.Fatalf("after removal: flash %q, phone %q", page.Text("#flash"), page.Text("#person-phone"))
	}

	t.Run("not their own", func(t *testing.T) {
		a.GivePhone(t, adm, "+447911123457", true)
		own := fmt.Sprintf("/staff/admin/people/%d", adm.ID)
		page := c.Get(own)
		if page.Doc.Find(`form[action$="/remove-phone"], form[action$="/deactivate"]`).Length() != 0 {
			t.Fatal("an admin is offered to remove their own phone or deactivate themselves")
		}
		for _, action := range []string{"/remove-phone", "/deactivate"} {
			if res := c.PostForm(own+action, nil); res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s on themselves = %d, want 422", action, res.StatusCode)
			}
		}
		if p, _ := accounts.NewStore(a.DB.Gorm).Get(context.Background(), adm.ID); p.PhoneSealed == "" || p.Status != accounts.StatusActive {
			t.Fatal("the admin's own account changed")
		}
	})
}

func TestAdminDeactivatesAndReactivates(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	holder := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	r := record(t, a, north, holder)
	grants := access.NewStore(a.DB.Gorm, a.Clock)
	held := func() int {
		t.Helper()
		rs, err := grants.RecordsOf(context.Background(), holder.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 1 && rs[0].ID != r.ID {
			t.Fatalf("holds record %d, want %d", rs[0].ID, r.ID)
		}
		return len(rs)
	}
	if held() != 1 {
		t.Fatal("the grant is not in force to begin with")
	}
	theirs := signedIn(t, a, holder)
	c := signedIn(t, a, admin(t, a))
	path := fmt.Sprintf("/staff/admin/people/%d", holder.ID)
	c.Get(path)
	signIn := func(password string) *apptest.Response {
		s := a.Client(t)
		s.Get("/sign-in")
		return s.PostForm("/sign-in", url.Values{"email": {holder.Email}, "password": {password}})
	}

	res := c.PostForm(path+"/deactivate", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
		t.Fatalf("Deactivate account = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := theirs.Get("/profile"); got.StatusCode != http.StatusSeeOther {
		t.Fatalf("the holder's session lives on: /profile = %d", got.StatusCode)
	}
	if held() != 0 {
		t.Fatal("a deactivated account's grant is still in force")
	}
	right, wrong := signIn(apptest.Password), signIn("Not-the-password-1")
	if right.StatusCode != http.StatusUnprocessableEntity || right.Text(".govuk-error-summary") != wrong.Text(".govuk-error-summary") {
		t.Fatalf("the right password on a deactivated account = %d %q, not the wrong password's answer",
			right.StatusCode, right.Text(".govuk-error-summary"))
	}
	page := c.Get(path)
	if page.Text("#person-status") != a.T("staff.admin.statuses.deactivated") ||
		page.Doc.Find(`form[action="`+path+`/reactivate"]`).Length() != 1 {
		t.Fatalf("the page says %q, without Reactivate", page.Text("#person-status"))
	}
	if events(t, a, "account.deactivated", target(holder)) != 1 {
		t.Fatal("no account.deactivated audit event")
	}

	if res := c.PostForm(path+"/reactivate", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Reactivate account = %d", res.StatusCode)
	}
	if held() != 1 {
		t.Fatal("reactivation does not bring the grant back")
	}
	if res := signIn(apptest.Password); res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("sign-in after reactivation = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if events(t, a, "account.reactivated", target(holder)) != 1 {
		t.Fatal("no account.reactivated audit event")
	}
}

func TestDeactivatedStaffReachNothing(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	other := a.NewPerson(t, "other.admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	theirs := signedIn(t, a, other)
	c := signedIn(t, a, admin(t, a))
	if res := c.PostForm(fmt.Sprintf("/staff/admin/people/%d/deactivate", other.ID), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Deactivate account = %d", res.StatusCode)
	}
	if res := theirs.Get("/staff/admin"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a deactivated admin's old session = %d", res.StatusCode)
	}
	// A session that outlived the deactivation (one made behind its back).
	late := a.Client(t)
	a.SignIn(t, late, other)
	if res := late.Get("/staff/admin"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a deactivated admin's surviving session = %d, want 404", res.StatusCode)
	}
}

// TestAdminPagesNeverShowRecords: portal admins manage accounts, not
// record content; a person's page counts grants and invitations only.
func TestAdminPagesNeverShowRecords(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	worker := inTeam(t, a, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker), north)
	holder := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	r := record(t, a, north, holder)
	now := a.Clock.Now()
	for _, inv := range []struct {
		state   string
		expires time.Time
	}{{"invitation_sent", now.Add(time.Hour)}, {"code_sent", now.Add(-time.Hour)}, {"withdrawn", now.Add(time.Hour)}} {
		a.DB.Gorm.Exec(`INSERT INTO invitations (email, team_id, invited_by, state, code_hash, created_at, expires_at)
			VALUES ('PARENT@example.net', ?, ?, ?, 'x', ?, ?)`, north.ID, worker.ID, inv.state, now, inv.expires)
	}
	c := signedIn(t, a, admin(t, a))

	page := c.Get(fmt.Sprintf("/staff/admin/people/%d", holder.ID))
	if page.StatusCode != http.StatusOK {
		t.Fatalf("person page = %d", page.StatusCode)
	}
	for _, secret := range []string{"Ellie", "Smith", r.CaseReference} {
		if strings.Contains(page.Body, secret) {
			t.Fatalf("the person page shows %q of their record", secret)
		}
	}
	if got := page.Text("#person-records"); got != "1" {
		t.Fatalf("records held = %q, want 1", got)
	}
	if got := page.Text("#person-invitations"); got != "1" {
		t.Fatalf("pending invitations = %q, want 1 (not the expired nor the withdrawn one)", got)
	}
	for _, path := range []string{"/staff/admin/people?q=parent", "/staff/admin/people?q=smith", "/staff/admin/teams", "/staff/admin/staff"} {
		if body := c.Get(path).Body; strings.Contains(body, "Ellie") || strings.Contains(body, r.CaseReference) {
			t.Fatalf("%s shows the record", path)
		}
	}
}

func TestAdminFindsPeople(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	for i := 0; i < 55; i++ {
		a.NewPerson(t, fmt.Sprintf("parent%02d@example.net", i), accounts.RoleCitizen, "")
	}
	cara := a.NewPerson(t, "cara@example.net", accounts.RoleCitizen, "")
	a.DB.Gorm.Model(cara).Updates(map[string]any{"given_name": "Cara", "family_name": "O'Neill"})
	c := signedIn(t, a, admin(t, a))
	for _, tc := range []struct {
		q       string
		rows    int
		limited bool
	}{
		{"", 0, false},
		{"CARA@", 1, false},
		{"cara o'neill", 1, false},
		{"%", 0, false}, // a wildcard is only a character
		{"example.net", 50, true},
		{"admin", 1, false}, // staff too
	} {
		t.Run("q="+tc.q, func(t *testing.T) {
			page := c.Get("/staff/admin/people?q=" + url.QueryEscape(tc.q))
			if got := page.Doc.Find("#people tbody tr").Length(); got != tc.rows {
				t.Fatalf("%d rows, want %d", got, tc.rows)
			}
			if got := page.Doc.Find("#people-limited").Length() == 1; got != tc.limited {
				t.Fatalf("says it shows only the first 50: %v", got)
			}
		})
	}
}
