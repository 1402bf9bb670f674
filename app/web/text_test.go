package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

// TestEveryPostRouteRefusesTextThatCannotBeStored: a NUL byte or bytes
// that are not UTF-8, in any field of any POST route of the route table
// (or in a search's query), get a 422 with a translated message, never a
// database error. Each route is posted by a signed-in admin (the widest
// reach), with its CSRF token, so the refusal is the text's alone.
func TestEveryPostRouteRefusesTextThatCannotBeStored(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	admin := a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	c := a.Client(t)
	a.SignIn(t, c, admin)
	c.Get("/staff")
	want := a.T("errors.invalid.text")
	param := regexp.MustCompile(`:[a-z_]+(<[^>]+>)?\??`)
	seen := 0
	for _, r := range a.GetRoutes(true) {
		if r.Method != http.MethodPost {
			continue
		}
		path := param.ReplaceAllString(r.Path, "1")
		for name, bad := range map[string]string{"a NUL byte": "Ellie\x00Smith", "bytes that are not UTF-8": "Ellie \xff\xfe"} {
			form := url.Values{"given_name": {bad}, "q": {bad}, "subject": {bad}, "body": {bad}, "title": {bad}}
			res := c.PostForm(path, form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Text("main"), want) {
				t.Errorf("POST %s with %s = %d: %q", path, name, res.StatusCode, res.Text("main"))
			}
		}
		seen++
	}
	if seen < 40 {
		t.Fatalf("only %d POST routes in the table", seen)
	}
	for _, path := range []string{"/staff/admin/people?q=a%00b", "/staff/records?q=%ff"} {
		if res := c.Get(path); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("GET %s = %d, want 422", path, res.StatusCode)
		}
	}
}

// TestBidiControlsAreTakenOut: right-to-left overrides and isolates in a
// person's text (a name, a subject) are taken out before anything keeps
// it, so they cannot reorder what staff read; repeated fields and other
// text are kept as they were.
func TestBidiControlsAreTakenOut(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, p)
	c.Get("/profile")
	res := c.PostForm("/profile", url.Values{"given_name": {"Ja\u202eyaj\u202c"}, "family_name": {"Smith \u2067–\u2069 “Jones”"},
		"language": {"en"}, "updates": {"yes"}})
	if res.StatusCode >= 400 {
		t.Fatalf("the profile = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	var given, family string
	a.DB.Gorm.Raw(`SELECT given_name, family_name FROM people WHERE id = ?`, p.ID).Row().Scan(&given, &family)
	if given != "Jayaj" || family != "Smith – “Jones”" {
		t.Errorf("kept %q %q, want the names without bidi controls", given, family)
	}
}
