package accounts_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestEditProfile(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.SignIn(t, c, p)
	page := c.Get("/profile")
	if page.StatusCode != http.StatusOK || page.Doc.Find(`a[href="/profile/email"]`).Length() != 1 {
		t.Fatalf("Edit profile = %d, without Change email address", page.StatusCode)
	}
	if strings.Contains(page.Body, "7911 123456") || !strings.Contains(page.Body, "456") {
		t.Fatal("the phone number is not shown masked")
	}
	form := url.Values{"given_name": {"Cara"}, "family_name": {"Jones"}, "line1": {"1 Market Street"},
		"town": {"Norwich"}, "postcode": {"nr12dh"}, "language": {"cy"}, "updates": {"yes"}}

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("postcode", "not a postcode")
	bad.Set("given_name", "")
	res := c.PostForm("/profile", bad)
	if res.StatusCode != http.StatusUnprocessableEntity || res.Doc.Find(".govuk-error-summary a").Length() != 2 {
		t.Fatalf("bad details = %d, want 422 with two errors", res.StatusCode)
	}
	if v, _ := res.Doc.Find("#line1").Attr("value"); v != "1 Market Street" {
		t.Fatalf("what was typed is lost on a 422: %q", v)
	}

	res = c.PostForm("/profile", form)
	if res.Header.Get("Location") != "/profile" {
		t.Fatalf("Save changes = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !strings.Contains(res.Header.Get("Set-Cookie"), "lang=cy") {
		t.Fatal("choosing Cymraeg does not switch the pages")
	}
	page = c.Get("/profile")
	if v, _ := page.Doc.Find("#postcode").Attr("value"); v != "NR1 2DH" {
		t.Fatalf("postcode shown as %q, want NR1 2DH", v)
	}
	if got := page.Text("h1"); got != a.Bundle.For("cy").T("account.profile.title") {
		t.Fatalf("the page is not in Welsh: %q", got)
	}
	got, _ := accounts.NewStore(a.DB.Gorm).Get(context.Background(), p.ID)
	if got.GivenName != "Cara" || got.Locale != "cy" || !got.UpdatesOptIn {
		t.Fatalf("saved %+v", got)
	}
	if got.AddressSealed == "" || strings.Contains(got.AddressSealed, "Market") {
		t.Fatalf("the address is not sealed at rest: %q", got.AddressSealed)
	}
	var events int64
	a.DB.Gorm.Table("audit_events").Where("actor_id = ? AND action = 'account.profile_updated'", p.ID).Count(&events)
	if events != 1 {
		t.Fatalf("%d audit events for the change, want 1", events)
	}
}
