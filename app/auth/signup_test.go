package auth_test

import (
	"context"
	"fmt"
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

// atNewPassword brings a fresh client to the new-password step of a
// journey ("/sign-up" or "/forgot-password") for email, and returns it
// with the path the step's form posts to.
func atNewPassword(t *testing.T, a *apptest.TestApp, journey, email string) (*apptest.Client, string) {
	t.Helper()
	c := a.Client(t)
	c.Get(journey)
	c.PostForm(journey+"/send", url.Values{"email": {email}})
	res := c.PostForm(journey+"/verify", url.Values{"code": {a.LastSent(t, "email", email).Code()}})
	if journey == "/sign-up" {
		res = c.Get("/sign-up/details")
	}
	if res.Doc.Find("#password").Length() != 1 {
		t.Fatalf("%s: no new password step (%d)", journey, res.StatusCode)
	}
	if journey == "/sign-up" {
		return c, "/sign-up/details"
	}
	return c, journey + "/password"
}

// TestNewPasswordRulesWithoutJavaScript: when a new password is refused,
// the page marks each rule as the password met it, in both journeys, and
// never holds the password.
func TestNewPasswordRulesWithoutJavaScript(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	status := map[bool]string{true: ", " + a.T("auth.password.rule_met"), false: ", " + a.T("auth.password.rule_not_met")}
	mark := map[bool]string{true: "✓", false: "✗"}

	t.Run("the rules are unmarked before a submit", func(t *testing.T) {
		c := a.Client(t)
		c.Get("/sign-up")
		c.PostForm("/sign-up/send", url.Values{"email": {"first.look@example.net"}})
		c.PostForm("/sign-up/verify", url.Values{"code": {a.LastSent(t, "email", "first.look@example.net").Code()}})
		res := c.Get("/sign-up/details")
		if n := res.Doc.Find("#password-rules [data-rule]").Length(); n != 3 {
			t.Fatalf("%d rules listed, want 3", n)
		}
		if marked := res.Doc.Find(".app-password-rules__rule--met, .app-password-rules__rule--not-met").Length(); marked != 0 ||
			res.Text(".app-password-rules__status") != "" {
			t.Fatalf("%d rules marked before any password was typed", marked)
		}
	})

	n := 0
	for _, journey := range []string{"/sign-up", "/forgot-password"} {
		for _, tc := range []struct {
			name, password, confirm string
			length, kinds, common   bool
		}{
			{"too short though of three kinds", "Zq7#w", "Zq7#w", false, true, true},
			{"long enough but of one kind", "zqxjvkwpl", "zqxjvkwpl", true, false, true},
			{"of the right shape but common", "Password1", "Password1", true, true, false},
			{"every rule met but the confirmation differs", "Vq3-lantern", "Vq3-lanterm", true, true, true},
		} {
			t.Run("journey="+strings.TrimPrefix(journey, "/")+"/"+tc.name, func(t *testing.T) {
				n++
				email := "parent@example.net"
				if journey == "/sign-up" {
					email = fmt.Sprintf("new.parent%d@example.net", n)
				}
				c, action := atNewPassword(t, a, journey, email)
				res := c.PostForm(action, url.Values{"given_name": {"Ann"}, "family_name": {"Parent"},
					"password": {tc.password}, "password_confirm": {tc.confirm}})
				if res.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.StatusCode)
				}
				// Security: the password typed is not sent back, in the
				// field or anywhere else.
				if strings.Contains(res.Body, tc.password) || strings.Contains(res.Body, tc.confirm) {
					t.Fatal("the page holds the password")
				}
				for rule, met := range map[string]bool{"length": tc.length, "kinds": tc.kinds, "common": tc.common} {
					li := res.Doc.Find(`#password-rules [data-rule="` + rule + `"]`)
					want := "app-password-rules__rule--not-met"
					if met {
						want = "app-password-rules__rule--met"
					}
					if !li.HasClass(want) {
						t.Errorf("rule %s: class %q, want %s", rule, li.AttrOr("class", ""), want)
					}
					if got := li.Find(".app-password-rules__status").Text(); got != status[met] {
						t.Errorf("rule %s: hidden text %q, want %q", rule, got, status[met])
					}
					if got := li.Find(`.app-password-rules__mark[aria-hidden="true"]`).Text(); got != mark[met] {
						t.Errorf("rule %s: mark %q, want %q", rule, got, mark[met])
					}
				}
			})
		}
	}
}
