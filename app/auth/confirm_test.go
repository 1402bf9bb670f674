package auth_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/auth"
	"portal/app/clock"
	"portal/app/config"
)

func TestSignInWithPhoneEnrolsThenConfirmsTwice(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	c.Get("/sign-in")
	c.PostForm("/sign-in", url.Values{"email": {"parent@example.net"}, "password": {apptest.Password}})
	if page := c.Get("/sign-in/confirm"); page.Doc.Find("#phone").Length() != 1 {
		t.Fatal("a first sign-in does not ask for a phone number")
	}
	if res := c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"0909 879 0000"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a premium-rate number = %d, want 422", res.StatusCode)
	}
	c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 123456"}})
	text := a.LastSent(t, "sms", "")
	if text.To != "+447911123456" || text.Body != a.T("sms_code.body", "Code", text.Code()) {
		t.Fatalf("text to %s: %q", text.To, text.Body)
	}
	if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {text.Code()}}); res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("enrolment = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("enrolling alone signed the person in; a second code is needed")
	}
	page := c.Get("/sign-in/confirm")
	if !strings.Contains(page.Body, "123456"[3:]) || strings.Contains(page.Body, "7911 123456") {
		t.Fatal("the known number is not shown masked")
	}
	c.PostForm("/sign-in/confirm/send", nil)
	before := c.Cookie(a.Sessions.CookieName)
	res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}})
	if res.Header.Get("Location") != "/account" {
		t.Fatalf("second code = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if c.Cookie(a.Sessions.CookieName) == before {
		t.Fatal("the session was not rotated at the second factor")
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("not signed in at AAL2: %d", res.StatusCode)
	}
	var sealed string
	a.DB.Gorm.Raw(`SELECT phone_sealed FROM people WHERE email = 'parent@example.net'`).Scan(&sealed)
	if sealed == "" || strings.Contains(sealed, "7911") {
		t.Fatalf("the phone number is not sealed at rest: %q", sealed)
	}
}

func TestSignInReturnsToTheAskedPageOnlyIfItIsOurs(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	for i, tc := range []struct{ name, next, want string }{
		{"a page of ours", "/account?tab=1", "/account?tab=1"},
		{"another site", "//evil.example/x", "/account"},
		{"another site by backslash", "/\\evil.example", "/account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email := "parent" + strconv.Itoa(i) + "@example.net" // a first sign-in each: enrol, then sign in
			a.NewPerson(t, email, accounts.RoleCitizen, "")
			c := a.Client(t)
			c.Get("/sign-in?next=" + url.QueryEscape(tc.next))
			c.PostForm("/sign-in", url.Values{"email": {email}, "password": {apptest.Password},
				"next": {tc.next}})
			c.Get("/sign-in/confirm")
			c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 12345" + strconv.Itoa(i)}})
			for step := 0; step < 2; step++ { // enrolment, then the sign-in code
				res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}})
				if step == 1 {
					if got := res.Header.Get("Location"); got != tc.want {
						t.Fatalf("after sign-in: %q, want %q", got, tc.want)
					}
					return
				}
				c.Get("/sign-in/confirm")
				c.PostForm("/sign-in/confirm/send", nil)
			}
		})
	}
}

func TestPhoneCountriesChooseTheRegions(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{Configure: func(c *config.Config) { c.PhoneCountries = "GB, IE" }})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	page := c.Get("/sign-in/confirm")
	if got := page.Doc.Find("#country option").Length(); got != 2 {
		t.Fatalf("the Country code select has %d options, want GB and IE", got)
	}
	if v, _ := page.Doc.Find("#country option").First().Attr("value"); v != "GB" {
		t.Fatalf("the first (default) country is %q, want GB", v)
	}
	c.PostForm("/sign-in/confirm/send", url.Values{"country": {"IE"}, "phone": {"085 123 4567"}})
	if got := a.LastSent(t, "sms", "").To; got != "+353851234567" {
		t.Fatalf("the code went to %q", got)
	}
	if err := auth.CheckRegions([]string{"GB", "US"}); err == nil {
		t.Fatal("PHONE_COUNTRIES=GB,US is accepted though the portal cannot name US")
	}
}

// TestTypingSomeoneElsesNumberSpendsNothingOfTheirs: a new account that
// types another person's proven number and asks for texts and a call
// (a separated partner knows the number) does not stop its owner signing
// in by text or by call; and one account may reach numbers it has not
// proven only so often.
func TestTypingSomeoneElsesNumberSpendsNothingOfTheirs(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	owner := a.NewPerson(t, "owner@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, owner, "+447911123456", true)
	stranger := a.NewPerson(t, "stranger@example.net", accounts.RoleCitizen, "")
	s := a.Client(t)
	a.PasswordStep(t, s, stranger)
	typed := url.Values{"country": {"GB"}, "phone": {"07911 123456"}}
	for i := 1; i <= 5; i++ {
		if res := s.PostForm("/sign-in/confirm/send", typed); res.StatusCode != http.StatusOK {
			t.Fatalf("the stranger's text %d = %d", i, res.StatusCode)
		}
	}
	if res := s.PostForm("/sign-in/confirm/call", typed); res.StatusCode != http.StatusOK {
		t.Fatalf("the stranger's call = %d", res.StatusCode)
	}
	if res := s.PostForm("/sign-in/confirm/send", typed); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the stranger's 6th text to a number not proven = %d, want 429", res.StatusCode)
	}
	if res := s.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 123457"}}); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the stranger's text to yet another number = %d, want 429 (the account's cap)", res.StatusCode)
	}

	a.LastSent(t, "sms", "+447911123456") // the stranger's texts leave first
	o := a.Client(t)
	a.PasswordStep(t, o, owner)
	if res := o.PostForm("/sign-in/confirm/call", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the owner's Call Me = %d, want 200", res.StatusCode)
	}
	if res := o.PostForm("/sign-in/confirm/send", url.Values{"resend": {"1"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("the owner's Send Code = %d, want 200", res.StatusCode)
	}
	if res := o.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123456").Code()}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("the owner's code = %d %q, want signed in", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestASignInFromANewDeviceIsToldByEmail: help and privacy promise an
// email when someone signs in from a device we have not seen; the first
// sign-in ever, and the same browser again, send none. The email says when
// and which browser on which system, by name from a closed list, never the
// User-Agent's own text, a place or a person.
func TestASignInFromANewDeviceIsToldByEmail(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	signIn := func(c *apptest.Client) {
		t.Helper()
		a.PasswordStep(t, c, p)
		c.PostForm("/sign-in/confirm/send", nil)
		if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123456").Code()}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("sign-in = %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	}
	alerts := func() int64 {
		a.LastSent(t, "sms", "") // runs the queue
		var n int64
		a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE recipient = ? AND subject = ?`, p.Email,
			a.T("email_new_device.subject", "Service", a.T("service.name"))).Scan(&n)
		return n
	}
	signOut := func(c *apptest.Client) {
		c.Get("/account")
		c.PostForm("/sign-out", nil)
	}
	home := a.Client(t)
	signIn(home)
	signOut(home)
	signIn(home)
	if n := alerts(); n != 0 {
		t.Fatalf("the first device, twice, sent %d alerts", n)
	}
	elsewhere := a.Client(t)
	elsewhere.Header.Set("User-Agent", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0 <script>")
	signIn(elsewhere)
	if n := alerts(); n != 1 {
		t.Fatalf("a sign-in from another browser sent %d alerts, want 1", n)
	}
	mail := a.LastSent(t, "email", p.Email)
	for _, leak := range []string{"7911", "parent@", "Gecko", "rv:133", "<script>"} {
		if strings.Contains(mail.Body, leak) {
			t.Errorf("the alert says %q:\n%s", leak, mail.Body)
		}
	}
	now := a.Clock.Now().In(clock.London)
	when := fmt.Sprintf("%d %s %d, %s", now.Day(), a.T(fmt.Sprintf("time.month_%d", int(now.Month()))), now.Year(), now.Format("15:04"))
	for _, says := range []string{when, "Firefox", a.T("notify.device.android")} {
		if !strings.Contains(mail.Body, says) {
			t.Errorf("the alert does not say %q:\n%s", says, mail.Body)
		}
	}
	signOut(elsewhere)
	signIn(elsewhere)
	if n := alerts(); n != 1 {
		t.Errorf("the second browser again sent another alert (%d in all)", n)
	}
}
