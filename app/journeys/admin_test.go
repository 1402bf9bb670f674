package journeys_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

// TestAPortalAdminSetsUpATeamAndHelpsACarer: on a phone, a portal admin
// adds a team, adds a worker to it, then finds a carer who has a new phone
// and removes the old number (guide 002's "The phone number I use to login
// has changed", from the council's side).
func TestAPortalAdminSetsUpATeamAndHelpsACarer(t *testing.T) {
	a := newApp(t)
	adm := a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, carer, "+447911123456", true)
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, adm)
	toAdmin := func() {
		t.Helper()
		b.ClickAndWait(`.app-staff-nav a[href="/staff/admin"]`)
		if got, want := b.Text("h1"), tr(t, a.T, "staff.admin.home.title"); got != want {
			t.Fatalf("the Admin page says %q, want %q", got, want)
		}
	}

	b.Visit(a.URL + "/staff")
	toAdmin()
	b.Axe(t)
	assertReflows(t, b)

	b.ClickAndWait(`main a[href="/staff/admin/teams"]`)
	b.Axe(t)
	b.Fill("#name", "North Locality Team")
	b.ClickAndWait(`form[action="/staff/admin/teams"] button`)
	if b.Text("#flash") == "" || !strings.Contains(b.Text("#teams"), "North Locality Team 0 0") {
		t.Fatalf("after Add team: flash %q, teams %q", b.Text("#flash"), b.Text("#teams"))
	}
	b.Axe(t)
	b.Fill("#name", "north locality team")
	if status := b.ClickAndWait(`form[action="/staff/admin/teams"] button`); status != http.StatusUnprocessableEntity {
		t.Fatalf("the same name again = %d", status)
	}
	if got, want := b.Text(".govuk-error-summary a"), tr(t, a.T, "staff.admin.teams.error_taken"); got != want {
		t.Fatalf("the same name again says %q", got)
	}
	b.Axe(t)

	toAdmin()
	b.ClickAndWait(`main a[href="/staff/admin/staff"]`)
	b.Axe(t)
	b.Fill("#email", "robin.quinlan@example.org")
	b.Fill("#given_name", "Robin")
	b.Fill("#family_name", "Quinlan")
	b.Click("#staff_role") // Worker, the first role
	b.Eval(`(() => { const s = document.getElementById('team');
	  s.value = [...s.options].find(o => o.text === 'North Locality Team').value; })()`, nil)
	b.ClickAndWait(`form[action="/staff/admin/staff"] button`)
	if b.Text("#flash") == "" || !strings.Contains(b.Text("#staff"), "Robin Quinlan robin.quinlan@example.org") {
		t.Fatalf("after Add member of staff: flash %q, staff %q", b.Text("#flash"), b.Text("#staff"))
	}
	if got := a.LastSent(t, "email", "robin.quinlan@example.org"); got.Subject != tr(t, a.T, "email_staff_account.subject") {
		t.Fatalf("the new member of staff was sent %q", got.Subject)
	}
	b.Axe(t)
	assertReflows(t, b)

	toAdmin()
	b.ClickAndWait(`main a[href="/staff/admin/people"]`)
	b.Axe(t)
	b.Fill("#q", "CARER@")
	b.ClickAndWait(`form[action="/staff/admin/people"] button`)
	b.Axe(t)
	assertReflows(t, b)
	b.ClickAndWait(fmt.Sprintf(`#people a[href="/staff/admin/people/%d"]`, carer.ID))
	if got := b.Text("#person-phone"); got != carer.PhoneHint {
		t.Fatalf("the carer's phone shows as %q, want %q", got, carer.PhoneHint)
	}
	b.Axe(t)
	assertReflows(t, b)
	b.ClickAndWait(`form[action$="/remove-phone"] button`)
	if got, want := b.Text("#flash"), tr(t, a.T, "staff.admin.person.phone_removed"); !strings.Contains(got, want) {
		t.Fatalf("after Remove phone number the flash says %q", got)
	}
	if got, want := b.Text("#person-phone"), tr(t, a.T, "staff.admin.person.phone_removed_none"); got != want {
		t.Fatalf("after Remove phone number the phone shows as %q", got)
	}
	b.Axe(t)
	b.ClearLogs() // Chrome logs the 422 of the refused team name itself
	b.AssertClean()
}
