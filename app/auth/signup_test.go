package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestSignUpNow(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	c.Get("/sign-up")
	res := c.PostForm("/sign-up/send", url.Values{"email": {"new.parent@example.net"}})
	if res.StatusCode != http.StatusOK || res.Doc.Find("#code").Length() != 1 {
		t.Fatalf("send = %d, no code field", res.StatusCode)
	}
	email := a.LastSent(t, "email", "new.parent@example.net")
	if email.Subject != a.T("email_verification_code.subject") {
		t.Fatalf("subject = %q", email.Subject)
	}
	code := email.Code()

	if res := c.PostForm("/sign-up/verify", url.Values{"code": {"12345x"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong code = %d, want 422", res.StatusCode)
	}
	if res := c.PostForm("/sign-up/verify", url.Values{"code": {code}}); !strings.Contains(res.Body, a.T("auth.sign_up.verified")) {
		t.Fatal("the right code did not verify the email")
	}
	c.Get("/sign-up/details")
	weak := c.PostForm("/sign-up/details", url.Values{"given_name": {"Ann"}, "family_name": {"Parent"},
		"password": {"short"}, "password_confirm": {"short"}})
	if weak.StatusCode != http.StatusUnprocessableEntity || weak.Doc.Find(`#given_name`).AttrOr("value", "") != "Ann" {
		t.Fatalf("a weak password = %d, or the names typed were lost", weak.StatusCode)
	}
	res = c.PostForm("/sign-up/details", url.Values{"given_name": {"Ann"}, "family_name": {"Parent"},
		"password": {"Correct-Horse-9"}, "password_confirm": {"Correct-Horse-9"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("create = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	p, err := accounts.NewStore(a.DB.Gorm).ByEmail(context.Background(), "new.parent@example.net")
	if err != nil || p.GivenName != "Ann" || p.Role != accounts.RoleCitizen || !strings.HasPrefix(p.PasswordHash, "$argon2id$") {
		t.Fatalf("person = %+v, %v", p, err)
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("a new account reached a signed-in page without the phone step")
	}
}

func TestSignUpDoesNotRevealRegisteredEmails(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	send := func(email string) string {
		c := a.Client(t)
		c.Get("/sign-up")
		res := c.PostForm("/sign-up/send", url.Values{"email": {email}})
		return strings.ReplaceAll(volatile.ReplaceAllString(res.Body, ""), email, "EMAIL")
	}
	if send("parent@example.net") != send("someone.new@example.net") {
		t.Fatal("sign up answers a registered email differently")
	}
	email := a.LastSent(t, "email", "parent@example.net")
	if email.Subject != a.T("email_already_registered.subject") || email.Code() != "" {
		t.Fatalf("the registered address got %q, code %q", email.Subject, email.Code())
	}
}
