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

func TestForgotYourPassword(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	elsewhere := a.Client(t)
	a.SignIn(t, elsewhere, person)

	c := a.Client(t)
	c.Get("/forgot-password")
	known := c.PostForm("/forgot-password/send", url.Values{"email": {"parent@example.net"}})
	other := a.Client(t)
	other.Get("/forgot-password")
	unknown := other.PostForm("/forgot-password/send", url.Values{"email": {"nobody@example.net"}})
	norm := func(r *apptest.Response, email string) string {
		return strings.ReplaceAll(volatile.ReplaceAllString(r.Body, ""), email, "EMAIL")
	}
	if norm(known, "parent@example.net") != norm(unknown, "nobody@example.net") {
		t.Fatal("reset answers a known and an unknown email differently")
	}
	email := a.LastSent(t, "email", "parent@example.net")
	if email.Subject != a.T("email_password_reset_code.subject") {
		t.Fatalf("subject %q", email.Subject)
	}
	if res := c.PostForm("/forgot-password/verify", url.Values{"code": {email.Code()}}); res.Doc.Find("#password").Length() != 1 {
		t.Fatalf("the code did not lead to the new password step: %d", res.StatusCode)
	}
	res := c.PostForm("/forgot-password/password", url.Values{"password": {"New-Horse-42"}, "password_confirm": {"New-Horse-42"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sign-in" {
		t.Fatalf("Continue = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if page := c.Get("/sign-in"); !strings.Contains(page.Body, a.T("auth.reset.done")) {
		t.Fatal("the sign-in page does not say the password changed")
	}
	if res := elsewhere.Get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("a session elsewhere survived the reset")
	}
	p, _ := accounts.NewStore(a.DB.Gorm).ByEmail(context.Background(), "parent@example.net")
	if ok, _ := a.Hasher.Verify(context.Background(), p.PasswordHash, "New-Horse-42"); !ok {
		t.Fatal("the new password was not stored")
	}
	signIn := c.PostForm("/sign-in", url.Values{"email": {"parent@example.net"}, "password": {"New-Horse-42"}})
	if signIn.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatal("the new password does not lead to the phone step")
	}
}
