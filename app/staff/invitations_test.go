package staff_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
)

// linkRE finds the invitation link in its email.
var linkRE = regexp.MustCompile(`/invitations/accept\?token=[A-Za-z0-9_-]+`)

// codeRE is an invitation code: 8 Crockford base32 characters as XXXX-XXXX.
var codeRE = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b`)

type world struct {
	a      *apptest.TestApp
	worker *apptest.Client
	recID  int64
}

func newWorld(t *testing.T) *world {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "North Locality Team")
	w := a.NewWorker(t, "worker@example.org", team)
	r := a.NewRecord(t, team, "Ellie", "Smith")
	c := a.Client(t)
	a.SignIn(t, c, w)
	return &world{a: a, worker: c, recID: r.ID}
}

func (w *world) record() string { return "/staff/records/" + strconv.FormatInt(w.recID, 10) }

// invite starts an invitation of email and returns its code and id.
func (w *world) invite(t *testing.T, email string) (string, string) {
	t.Helper()
	w.worker.Get(w.record() + "/invite")
	res := w.worker.PostForm(w.record()+"/invite", url.Values{"email": {email}, "relationship": {access.Parent}})
	if res.Header.Get("Location") != w.record() {
		t.Fatalf("invite = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	mail := w.a.LastSent(t, "email", email)
	code := codeRE.FindString(mail.Body)
	if mail.Subject != w.a.T("email_invitation_code.subject") || code == "" {
		t.Fatalf("the code email: %q %q", mail.Subject, mail.Body)
	}
	page := w.worker.Get(w.record())
	id, _ := page.Doc.Find(`form[action$="/confirm"]`).Attr("action")
	return code, strings.TrimSuffix(strings.TrimPrefix(id, "/staff/invitations/"), "/confirm")
}

func (w *world) confirm(code, id string, checks bool) *apptest.Response {
	form := url.Values{"code": {code}, "record": {strconv.FormatInt(w.recID, 10)}}
	if checks {
		form.Set("check_identity", "yes")
		form.Set("check_responsibility", "yes")
		form.Set("check_confidentiality", "yes")
	}
	w.worker.Get(w.record())
	return w.worker.PostForm("/staff/invitations/"+id+"/confirm", form)
}

func TestTheInvitationLifecycle(t *testing.T) {
	w := newWorld(t)
	a := w.a
	code, id := w.invite(t, "parent@example.net")
	if res := w.confirm(code, id, false); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the code without the checks = %d, want 422", res.StatusCode)
	}
	if res := w.confirm("AAAA-AAAA", id, true); res.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Text(".govuk-error-summary"), "4") {
		t.Fatalf("a wrong code = %d %q, want 422 saying 4 tries are left", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	if res := w.confirm(strings.ToLower(strings.ReplaceAll(code, "-", " ")), id, true); res.Header.Get("Location") != w.record() {
		t.Fatalf("the right code (as read out: lower case, a space) = %d", res.StatusCode)
	}
	mail := a.LastSent(t, "email", "parent@example.net")
	link := linkRE.FindString(mail.Body)
	if mail.Subject != a.T("email_invitation.subject") || link == "" {
		t.Fatalf("the invitation email: %q", mail.Subject)
	}

	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	anon := a.Client(t)
	if res := anon.Get(link); res.StatusCode != http.StatusSeeOther || strings.Contains(res.Header.Get("Location"), "token") {
		t.Fatalf("the link = %d %q, want the token out of the address", res.StatusCode, res.Header.Get("Location"))
	}
	c := a.Client(t)
	a.SignIn(t, c, parent)
	if res := c.Get("/account"); res.Header.Get("Location") != "/account/setup" {
		t.Fatalf("signed in with an invitation waiting: %q, want Account setup", res.Header.Get("Location"))
	}
	setup := c.Get("/account/setup")
	key, _ := setup.Doc.Find(`input[name="records"]`).Attr("value")
	if !strings.Contains(setup.Body, "Ellie Smith") || key == "" {
		t.Fatal("Account setup does not offer the record by name")
	}
	if res := c.PostForm("/account/setup", url.Values{"continue": {"yes"}, "records": {key}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("without the privacy notice = %d, want 422", res.StatusCode)
	}
	answers := url.Values{"continue": {"yes"}, "records": {key}, "privacy": {"yes"}}
	if res := c.PostForm("/account/setup", answers); res.Doc.Find(`dialog form[action="/account/setup/submit"]`).Length() != 1 {
		t.Fatalf("Confirm = %d without the confirmation dialog", res.StatusCode)
	}
	if res := c.PostForm("/account/setup/submit", answers); res.Header.Get("Location") != "/account/setup/done?answer=yes" {
		t.Fatalf("Submit = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var accepted int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'invitation.accepted' AND record_id = ? AND actor_id = ?`,
		w.recID, parent.ID).Scan(&accepted)
	if accepted != 1 {
		t.Fatalf("%d invitation.accepted events for the ticked record, want 1", accepted)
	}
	if res := c.Get("/records/" + strconv.FormatInt(w.recID, 10)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("before activation the record = %d, want 404", res.StatusCode)
	}
	if res := a.Client(t).Get(link); !strings.Contains(res.Header.Get("Location"), "expired") {
		t.Fatalf("the link once used = %q, want it expired", res.Header.Get("Location"))
	}

	queue := w.worker.Get("/staff/activations")
	if !strings.Contains(queue.Body, "parent@example.net") {
		t.Fatal("the activation queue does not list the accepted invitation")
	}
	if res := w.worker.PostForm("/staff/invitations/"+id+"/activate", nil); res.Header.Get("Location") != "/staff/activations" {
		t.Fatalf("Activate = %d", res.StatusCode)
	}
	if got := a.LastSent(t, "email", "parent@example.net"); got.Subject != a.T("email_activation.subject") {
		t.Fatalf("after activation the person got %q", got.Subject)
	}
	dash := "/records/" + strconv.FormatInt(w.recID, 10)
	if res := c.Get("/account"); res.Header.Get("Location") != dash {
		t.Fatalf("one record: /account = %q, want its dashboard", res.Header.Get("Location"))
	}
	page := c.Get(dash)
	if got := page.Text(".app-viewing"); got != a.T("records.viewing")+" Ellie Smith" {
		t.Fatalf("the dashboard says %q", got)
	}
	if page.Doc.Find(`.app-record-nav a`).Length() != 4 || page.Doc.Find(".app-tiles a").Length() != 3 {
		t.Fatal("the dashboard lacks its menu or its three tiles")
	}
	for _, s := range []string{"/messages", "/documents", "/forms"} {
		if res := c.Get(dash + s); res.StatusCode != http.StatusOK || res.Text(".app-viewing") == "" {
			t.Errorf("%s = %d without Viewing", s, res.StatusCode)
		}
	}
	holders := w.worker.Get(w.record())
	if !strings.Contains(holders.Body, "parent@example.net") || holders.Doc.Find(".govuk-tag--green").Length() != 1 {
		t.Fatal("the record page does not show the new holder as active")
	}
	assertNoNamesInEmails(t, a, "Ellie", "Smith")
}

func assertNoNamesInEmails(t *testing.T, a *apptest.TestApp, names ...string) {
	t.Helper()
	var bodies []string
	a.DB.Gorm.Raw(`SELECT subject || ' ' || body FROM outbox_messages`).Scan(&bodies)
	if len(bodies) == 0 {
		t.Fatal("no emails to check")
	}
	for _, b := range bodies {
		for _, n := range names {
			if strings.Contains(b, n) {
				t.Fatalf("an email names %q: %s", n, b)
			}
		}
	}
}

func TestFiveWrongCodesVoidTheInvitation(t *testing.T) {
	w := newWorld(t)
	code, id := w.invite(t, "parent@example.net")
	for i := 0; i < 5; i++ {
		w.confirm("AAAA-AAAA", id, true)
	}
	if res := w.confirm(code, id, true); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the right code after 5 wrong ones = %d, want the invitation gone", res.StatusCode)
	}
	if page := w.worker.Get(w.record()); !strings.Contains(page.Body, w.a.T("staff.invitation.status.void")) {
		t.Fatal("the record page does not show the invitation as void")
	}
}

func TestAnInvitationLinkWorksFourteenDaysAndCanBeSentAgain(t *testing.T) {
	w := newWorld(t)
	a := w.a
	code, id := w.invite(t, "parent@example.net")
	w.confirm(code, id, true)
	link := linkRE.FindString(a.LastSent(t, "email", "parent@example.net").Body)
	a.Clock.Advance(14*24*time.Hour - time.Second)
	if res := a.Client(t).Get(link); res.Header.Get("Location") != "/invitations/accept" {
		t.Fatalf("the link at 13 days 23:59:59 = %q", res.Header.Get("Location"))
	}
	a.Clock.Advance(time.Second)
	if res := a.Client(t).Get(link); res.Header.Get("Location") != "/invitations/accept?link=expired" {
		t.Fatalf("the link at 14 days = %q, want expired", res.Header.Get("Location"))
	}
	a.SignIn(t, w.worker, a.NewWorkerOf(t, "worker2@example.org", w.recID)) // the first session timed out
	if page := w.worker.Get(w.record()); !strings.Contains(page.Text("#invitation-"+id), a.T("staff.invitation.status.expired")) {
		t.Fatal("the record page does not show the invitation as expired")
	}
	w.worker.PostForm("/staff/invitations/"+id+"/resend", url.Values{"record": {strconv.FormatInt(w.recID, 10)}})
	fresh := linkRE.FindString(a.LastSent(t, "email", "parent@example.net").Body)
	if fresh == link || fresh == "" {
		t.Fatal("Send again did not send a new link")
	}
	if res := a.Client(t).Get(fresh); res.Header.Get("Location") != "/invitations/accept" {
		t.Fatalf("the new link = %q", res.Header.Get("Location"))
	}
	if res := a.Client(t).Get(link); !strings.Contains(res.Header.Get("Location"), "expired") {
		t.Fatal("the old link works again after Send again")
	}
}

func TestAFamilyCannotBeInvitedToACarersOwnRecord(t *testing.T) {
	w := newWorld(t)
	a := w.a
	var team int64
	a.DB.Gorm.Raw(`SELECT team_id FROM records WHERE id = ?`, w.recID).Scan(&team)
	var carerRecord int64
	a.DB.Gorm.Raw(`INSERT INTO records (kind, case_reference, given_name, family_name, team_id)
		VALUES ('foster_carer', 'FC-1', 'Carol', 'Carer', ?) RETURNING id`, team).Scan(&carerRecord)
	w.worker.Get(w.record() + "/invite")
	res := w.worker.PostForm(w.record()+"/invite", url.Values{"email": {"parent@example.net"},
		"relationship": {access.Parent}, "records": {strconv.FormatInt(carerRecord, 10)}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a parent invited to a foster carer's own record too = %d, want 422", res.StatusCode)
	}
	var n int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM invitations`).Scan(&n)
	if n != 0 {
		t.Fatal("the invitation was made anyway")
	}
}

// TestInvitationEmailsAreInTheInvitedPersonsLanguage: not the worker's
// screen language, but the one the worker chose on the invitation, or,
// when the address has an account, that person's own.
func TestInvitationEmailsAreInTheInvitedPersonsLanguage(t *testing.T) {
	w := newWorld(t)
	a := w.a
	known := a.NewPerson(t, "cymraeg@example.net", accounts.RoleCitizen, "")
	a.DB.Gorm.Exec(`UPDATE people SET locale = 'cy' WHERE id = ?`, known.ID)
	subject := func(lang string) string {
		l := a.Bundle.For(lang)
		return l.T("email_invitation_code.subject", "Service", l.T("service.name"))
	}
	for _, tt := range []struct {
		name, screen, chosen, email, want string
	}{
		{"a worker reading Welsh invites in English", "cy", "en", "new@example.net", "en"},
		{"a worker reading English invites in Welsh", "en", "cy", "newydd@example.net", "cy"},
		{"a person with an account gets their own language", "en", "en", known.Email, "cy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.worker.Get("/?lang=" + tt.screen)
			w.worker.Get(w.record() + "/invite")
			res := w.worker.PostForm(w.record()+"/invite", url.Values{"email": {tt.email}, "relationship": {access.Parent}, "lang": {tt.chosen}})
			if res.Header.Get("Location") != w.record() {
				t.Fatalf("invite = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
			}
			if got := a.LastSent(t, "email", tt.email).Subject; got != subject(tt.want) {
				t.Errorf("the email's subject is %q, want %q", got, subject(tt.want))
			}
		})
	}
	w.worker.Get(w.record() + "/invite")
	if res := w.worker.PostForm(w.record()+"/invite", url.Values{"email": {"x@example.net"}, "relationship": {access.Parent}, "lang": {"fr"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an unknown language = %d, want 422", res.StatusCode)
	}
}
