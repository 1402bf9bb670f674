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

// TestResetAndSignUpDoTheSameWorkForEitherAddress: a reset or a sign-up
// issues one code and queues one email whether or not the address has an
// account, so the time taken does not tell (make bench measures that);
// an address without an account still gets no reset email.
func TestResetAndSignUpDoTheSameWorkForEitherAddress(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	work := func(path, email string) (codes, jobs int64) {
		t.Helper()
		count := func() (int64, int64) {
			var c, j int64
			a.DB.Gorm.Raw(`SELECT count(*) FROM one_time_codes`).Scan(&c)
			a.DB.Gorm.Raw(`SELECT count(*) FROM river_job`).Scan(&j)
			return c, j
		}
		c0, j0 := count()
		c := a.Client(t)
		c.Get(path)
		if res := c.PostForm(path+"/send", url.Values{"email": {email}}); res.StatusCode != http.StatusOK {
			t.Fatalf("%s for %s = %d", path, email, res.StatusCode)
		}
		c1, j1 := count()
		return c1 - c0, j1 - j0
	}
	for _, path := range []string{"/forgot-password", "/sign-up"} {
		kc, kj := work(path, "parent@example.net")
		uc, uj := work(path, "nobody@example.net")
		if kc != 1 || kj != 1 || uc != kc || uj != kj {
			t.Errorf("%s: a known address made %d codes and %d jobs, an unknown one %d and %d; want 1 and 1 each", path, kc, kj, uc, uj)
		}
	}
	a.LastSent(t, "email", "parent@example.net") // runs the queue
	var toNobody int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE recipient = 'nobody@example.net' AND subject = ?`,
		a.T("email_password_reset_code.subject")).Scan(&toNobody)
	if toNobody != 0 {
		t.Errorf("an address without an account got %d reset emails", toNobody)
	}
}
