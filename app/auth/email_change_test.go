package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestChangeTheEmailAddress(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "old@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	laptop, phone := a.Client(t), a.Client(t)
	a.SignIn(t, laptop, p)
	a.SignIn(t, phone, p)

	if res := laptop.Get("/profile/email/new"); res.Header.Get("Location") != "/profile/email" {
		t.Fatalf("the new address before a fresh phone code = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	laptop.Get("/profile/email")
	laptop.PostForm("/profile/email/send", nil)
	res := laptop.PostForm("/profile/email/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123456").Code()}})
	if res.Header.Get("Location") != "/profile/email/new" {
		t.Fatalf("after the phone code = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	laptop.Get("/profile/email/new")
	if res := laptop.PostForm("/profile/email/new/send", url.Values{"email": {"OLD@example.net"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the same address = %d, want 422", res.StatusCode)
	}
	laptop.PostForm("/profile/email/new/send", url.Values{"email": {"new@example.net"}})
	code := a.LastSent(t, "email", "new@example.net").Code()
	if code == "" {
		t.Fatal("no code went to the new address")
	}
	if res := laptop.PostForm("/profile/email/new/verify", url.Values{"code": {"000000"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong code = %d, want 422", res.StatusCode)
	}
	res = laptop.PostForm("/profile/email/new/verify", url.Values{"code": {code}})
	if res.Header.Get("Location") != "/sign-in" {
		t.Fatalf("after the new address's code = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	got, _ := accounts.NewStore(a.DB.Gorm).Get(context.Background(), p.ID)
	if got.Email != "new@example.net" {
		t.Fatalf("the email address is %q", got.Email)
	}
	alert := a.LastSent(t, "email", "old@example.net")
	if alert.Subject != a.T("email_address_changed.subject") {
		t.Fatalf("the old address got %q", alert.Subject)
	}
	for name, c := range map[string]*apptest.Client{"this device": laptop, "the other device": phone} {
		if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s is still signed in", name)
		}
	}
	if page := laptop.Get("/sign-in"); page.Text("#flash") == "" {
		t.Error("the sign-in page does not say the address changed")
	}
	c := a.Client(t)
	c.Get("/sign-in")
	if res := c.PostForm("/sign-in", url.Values{"email": {"new@example.net"}, "password": {apptest.Password}}); res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("signing in with the new address = %d", res.StatusCode)
	}
}

func TestAnEmailChangeNeedsAFreshPhoneCheckOfItsOwn(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "old@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)

	t.Run("a sign-in code does not open it", func(t *testing.T) {
		c := a.Client(t)
		a.PasswordStep(t, c, p)
		c.PostForm("/sign-in/confirm/send", nil)
		code := a.LastSent(t, "sms", "").Code()
		a.SignIn(t, c, p)
		c.Get("/profile/email")
		if res := c.PostForm("/profile/email/verify", url.Values{"code": {code}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("a code sent for signing in = %d, want 422", res.StatusCode)
		}
	})
	t.Run("a check older than ten minutes", func(t *testing.T) {
		c := a.Client(t)
		a.SignIn(t, c, p)
		c.Get("/profile/email")
		c.PostForm("/profile/email/send", nil)
		c.PostForm("/profile/email/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}})
		a.Clock.Advance(9 * time.Minute)
		c.Get("/profile/email/new") // activity: the session itself stays alive
		a.Clock.Advance(2 * time.Minute)
		if res := c.PostForm("/profile/email/new/send", url.Values{"email": {"new@example.net"}}); res.Header.Get("Location") != "/profile/email" {
			t.Fatalf("a stale check = %d %q, want a new check", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("an address with an account gets that account's email, and the same page", func(t *testing.T) {
		a.NewPerson(t, "taken@example.net", accounts.RoleCitizen, "")
		c := a.Client(t)
		a.SignIn(t, c, p)
		c.Get("/profile/email")
		c.PostForm("/profile/email/send", nil)
		c.PostForm("/profile/email/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}})
		c.Get("/profile/email/new")
		res := c.PostForm("/profile/email/new/send", url.Values{"email": {"taken@example.net"}})
		if res.StatusCode != http.StatusOK || res.Doc.Find(`form[action="/profile/email/new/verify"]`).Length() != 1 {
			t.Fatalf("a taken address = %d, want the code step as for any address", res.StatusCode)
		}
		if got := a.LastSent(t, "email", "taken@example.net"); got.Subject != a.T("email_already_registered.subject") {
			t.Fatalf("the taken address got %q", got.Subject)
		}
	})
}

func TestAnEmailChangeCodeWorksOnlyForTheAddressItWentTo(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "old@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.SignIn(t, c, p)
	c.Get("/profile/email")
	c.PostForm("/profile/email/send", nil)
	c.PostForm("/profile/email/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}})
	c.Get("/profile/email/new")
	c.PostForm("/profile/email/new/send", url.Values{"email": {"mine@example.net"}})
	mine := a.LastSent(t, "email", "mine@example.net").Code()
	c.PostForm("/profile/email/new/send", url.Values{"email": {"theirs@example.net"}})
	if res := c.PostForm("/profile/email/new/verify", url.Values{"code": {mine}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the first address's code for the second address = %d, want 422", res.StatusCode)
	}
	if got, _ := accounts.NewStore(a.DB.Gorm).Get(context.Background(), p.ID); got.Email != "old@example.net" {
		t.Fatalf("the address became %q", got.Email)
	}
}
