package journeys_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"portal/app/apptest"
)

var (
	invitationCode = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b`)
	invitationLink = regexp.MustCompile(`http://\S+/invitations/accept\?token=[A-Za-z0-9_-]+`)
)

// TestFromInvitationToFirstDashboard follows guide 000 from step 1 to 15 with
// both sides in the browser: the worker invites and confirms the code; the
// person signs up from the link, enrols a phone, sets up the account; the
// worker activates it; the person signs in to the record's dashboard.
func TestFromInvitationToFirstDashboard(t *testing.T) {
	a := newApp(t)
	team := a.NewTeam(t, "North Locality Team")
	worker := a.NewWorker(t, "worker@example.org", team)
	a.NewRecord(t, team, "Ellie", "Smith")
	staff := apptest.NewBrowser(t)
	a.SignInBrowser(t, staff, worker)

	staff.Visit(a.URL + "/staff")
	staff.ClickAndWait(`.app-staff-nav a[href="/staff/records"]`)
	staff.Axe(t)
	staff.Fill("#q", "ellie")
	staff.ClickAndWait(`form[action="/staff/records"] button`)
	staff.ClickAndWait(`table a[href^="/staff/records/"]`)
	staff.Axe(t)
	staff.ClickAndWait(`a[href$="/invite"]`)
	staff.Axe(t)
	staff.Fill("#email", "new.parent@example.net")
	staff.Click("#relationship")
	staff.ClickAndWait(`form[action$="/invite"] button`)
	code := invitationCode.FindString(a.LastSent(t, "email", "new.parent@example.net").Body)
	if code == "" {
		t.Fatal("no code in the first email")
	}
	staff.Axe(t)
	staff.Fill(`input[name="code"]`, code)
	for _, check := range []string{"identity", "responsibility", "confidentiality"} {
		staff.Click(`input[name="check_` + check + `"]`)
	}
	staff.ClickAndWait(`form[action$="/confirm"] button`)
	if staff.Text("#flash") == "" {
		t.Fatal("no confirmation after sending the invitation")
	}
	link := invitationLink.FindString(a.LastSent(t, "email", "new.parent@example.net").Body)

	person := apptest.NewBrowser(t)
	person.Visit(link)
	if person.Path() != "/invitations/accept" || strings.Contains(person.Location(), "token") {
		t.Fatalf("the link leads to %s", person.Location())
	}
	person.Axe(t)
	person.ClickAndWait(`a[href="/sign-up"]`)
	person.Fill("#email", "new.parent@example.net")
	person.ClickAndWait(`form[action="/sign-up/send"] button`)
	person.Fill("#code", a.LastSent(t, "email", "new.parent@example.net").Code())
	person.ClickAndWait(`form[action="/sign-up/verify"] button`)
	person.ClickAndWait(`a[href="/sign-up/details"]`)
	person.Fill("#given_name", "Pat")
	person.Fill("#family_name", "Parent")
	person.Fill("#password", "a long enough passphrase")
	person.Fill("#password_confirm", "a long enough passphrase")
	person.ClickAndWait(`form[action="/sign-up/details"] button`)
	person.Fill("#phone", "07911 123456")
	person.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	typeTextedCode(t, a, person)
	person.WaitFor(`location.pathname === "/sign-in/confirm" && !!document.querySelector('form[action="/sign-in/confirm/send"] button')`, 10*time.Second)
	person.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	typeTextedCode(t, a, person)
	person.WaitFor(`location.pathname === "/terms/accept"`, 10*time.Second)
	person.Click("#terms")
	person.ClickAndWait(`form[action="/terms/accept"] button`)
	person.WaitFor(`location.pathname === "/account/setup"`, 10*time.Second)
	person.Axe(t)
	person.Click(`input[name="records"]`)
	person.Eval(`document.getElementById('continue').value = 'yes'`, nil)
	person.Click("#privacy")
	person.ClickAndWait(`form[action="/account/setup"] button`)
	person.Axe(t)
	person.ClickAndWait(`dialog form[action="/account/setup/submit"] button`)
	if person.Path() != "/account/setup/done" {
		t.Fatalf("after Submit: %s", person.Path())
	}
	person.Axe(t)

	staff.Visit(a.URL + "/staff/activations")
	staff.Axe(t)
	staff.ClickAndWait(`form[action$="/activate"] button`)
	if got := a.LastSent(t, "email", "new.parent@example.net"); got.Subject != tr(t, a.T, "email_activation.subject") {
		t.Fatalf("after activation the person got %q", got.Subject)
	}

	person.Visit(a.URL + "/account")
	if person.Text(".app-viewing strong") != "Ellie Smith" {
		t.Fatalf("the first dashboard: %s %q", person.Path(), person.Text(".app-viewing"))
	}
	person.Axe(t)
	assertReflows(t, person)
	person.ClickAndWait(`.app-tiles a[href$="/documents"]`)
	if person.Text(".app-viewing strong") != "Ellie Smith" {
		t.Fatal("Items to view does not say whose record it is")
	}
	person.AssertClean()
	staff.AssertClean()
}
