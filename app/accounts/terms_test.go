package accounts_test

import (
	"net/http"
	"net/url"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestTermsComeBeforeFirstUse(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.DB.Gorm.Exec(`UPDATE people SET terms_accepted_at = NULL WHERE id = ?`, p.ID)
	c := a.Client(t)
	a.SignIn(t, c, p)
	if res := c.Get("/account"); res.Header.Get("Location") != "/terms/accept" {
		t.Fatalf("first use = %d %q, want the terms", res.StatusCode, res.Header.Get("Location"))
	}
	page := c.Get("/terms/accept")
	if _, ticked := page.Doc.Find("#updates").Attr("checked"); ticked {
		t.Fatal("the updates box starts ticked")
	}
	if res := c.PostForm("/terms/accept", url.Values{"updates": {"yes"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("without the terms ticked = %d, want 422", res.StatusCode)
	}
	if res := c.PostForm("/terms/accept", url.Values{"terms": {"yes"}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("accept = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var got accounts.Person
	a.DB.Gorm.Take(&got, p.ID)
	if got.TermsAcceptedAt == nil || !got.TermsAcceptedAt.Equal(a.Clock.Now()) || got.UpdatesOptIn {
		t.Fatalf("recorded %+v", got)
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("after accepting = %d", res.StatusCode)
	}
}

func TestLogOutOfAllDevices(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	phone, laptop := a.Client(t), a.Client(t)
	a.SignIn(t, phone, p)
	a.SignIn(t, laptop, p)
	page := laptop.Get("/profile")
	if page.StatusCode != http.StatusOK || page.Doc.Find(`form[action="/profile/sign-out-everywhere"]`).Length() != 1 {
		t.Fatalf("profile = %d without the button", page.StatusCode)
	}
	res := laptop.PostForm("/profile/sign-out-everywhere", nil)
	if res.Header.Get("Location") != "/signed-out" || res.Header.Get("Clear-Site-Data") == "" {
		t.Fatalf("sign out everywhere = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	for name, c := range map[string]*apptest.Client{"the other device": phone, "this device": laptop} {
		if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s is still signed in", name)
		}
	}
}
