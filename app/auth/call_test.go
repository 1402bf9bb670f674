package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/auth"
)

const landline = "+442079460001" // Ofcom's drama range: 020 7946 0000 to 0999

// callPage signs c in to the password step and asks for a call.
func callPage(t *testing.T, a *apptest.TestApp, c *apptest.Client, p *accounts.Person) *apptest.Response {
	t.Helper()
	a.PasswordStep(t, c, p)
	page := c.Get("/sign-in/confirm")
	if page.Doc.Find(`form[action="/sign-in/confirm/call"]`).Length() != 1 {
		t.Fatal("no Call Me on Confirm your identity")
	}
	return c.PostForm("/sign-in/confirm/call", nil)
}

func TestCallMeSignsInOnlyWithHashOnThisVeryCall(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, landline, false)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	if page := c.Get("/sign-in/confirm"); page.Doc.Find(`form[action="/sign-in/confirm/send"]`).Length() != 0 {
		t.Fatal("a landline is offered Send Code (guide 003 step 10: Call Me only)")
	}
	if res := c.PostForm("/sign-in/confirm/send", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a text to a landline = %d, want 422", res.StatusCode)
	}
	res := c.PostForm("/sign-in/confirm/call", nil)
	if res.StatusCode != http.StatusOK || res.Doc.Find(`form[action="/sign-in/confirm/call/continue"][hx-trigger][data-passive]`).Length() != 1 {
		t.Fatalf("the waiting page = %d, without its passive poll", res.StatusCode)
	}
	call := a.LastSent(t, "voice", landline)
	if call.Body != a.T("voice_sign_in.body") {
		t.Fatalf("the call says %q", call.Body)
	}
	cont := func(htmx bool) *apptest.Response {
		if htmx {
			c.Header.Set("HX-Request", "true")
			defer c.Header.Del("HX-Request")
		}
		return c.PostForm("/sign-in/confirm/call/continue", nil)
	}
	if res := cont(true); res.StatusCode != http.StatusNoContent {
		t.Fatalf("a poll before the answer = %d, want 204", res.StatusCode)
	}
	if res := cont(false); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Text(".govuk-error-summary") == "" {
		t.Fatalf("Continue before the answer = %d, want 422 with a message", res.StatusCode)
	}

	a.AnswerLastCall(t, landline, "1")
	if res := cont(false); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a call answered with 1 instead of # signed in: %d", res.StatusCode)
	}
	other := a.NewPerson(t, "other@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, other, "+442079460002", false)
	callPage(t, a, a.Client(t), other)
	a.AnswerLastCall(t, "+442079460002", "#")
	if res := cont(false); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("another person's answered call signed this one in: %d", res.StatusCode)
	}

	a.AnswerLastCall(t, landline, "#")
	before := c.Cookie(a.Sessions.CookieName)
	if res := cont(true); res.Header.Get("HX-Redirect") != "/account" {
		t.Fatalf("the poll after # = %d %q, want HX-Redirect to /account", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	if c.Cookie(a.Sessions.CookieName) == before {
		t.Fatal("the session was not rotated at the second factor")
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("not signed in after #: %d", res.StatusCode)
	}

	t.Run("the answered call cannot be used again", func(t *testing.T) {
		again := a.Client(t)
		a.PasswordStep(t, again, p)
		if res := again.PostForm("/sign-in/confirm/call/continue", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("replaying the used call = %d, want back to the check", res.StatusCode)
		}
		if res := again.Get("/account"); res.StatusCode != http.StatusSeeOther {
			t.Fatal("a used call signed another browser in")
		}
	})
}

func TestACallIsSupersededAndExpires(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, landline, false)

	t.Run("an earlier call answered after a newer one was asked for", func(t *testing.T) {
		c := a.Client(t)
		callPage(t, a, c, p)
		first := a.LastCallID(t, "")
		c.PostForm("/sign-in/confirm/call", url.Values{"resend": {"1"}}) // "Call me again"
		a.LastCallID(t, "")                                              // the newer call is in the outbox too
		a.AnswerCall(t, first, "#")
		if res := c.PostForm("/sign-in/confirm/call/continue", nil); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("the superseded call signed in: %d", res.StatusCode)
		}
	})
	t.Run("a call answered after ten minutes", func(t *testing.T) {
		c := a.Client(t)
		callPage(t, a, c, p)
		a.Clock.Advance(10*time.Minute + time.Second)
		a.AnswerLastCall(t, landline, "#")
		if res := c.PostForm("/sign-in/confirm/call/continue", nil); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != "/sign-in/confirm" {
			t.Fatalf("a late answer = %d %q, want back to ask again", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestAtMostThreeCallsAnHour(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, landline, false)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	for i := 1; i <= 3; i++ {
		if res := c.PostForm("/sign-in/confirm/call", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("call %d = %d", i, res.StatusCode)
		}
	}
	res := c.PostForm("/sign-in/confirm/call", nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Doc.Find(".govuk-error-summary").Length() != 1 {
		t.Fatalf("the 4th call in an hour = %d, want 429 on the page with a message", res.StatusCode)
	}
	a.Clock.Advance(time.Hour)
	a.PasswordStep(t, c, p) // the idle timeout ended the last sign-in
	if res := c.PostForm("/sign-in/confirm/call", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("a call the next hour = %d", res.StatusCode)
	}
}

func TestEnrolALandlineByCall(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	if res := c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"020 7946 0001"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("Send Code to a landline = %d, want 422", res.StatusCode)
	}
	if res := c.PostForm("/sign-in/confirm/call", url.Values{"country": {"GB"}, "phone": {"020 7946 0001"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("Call Me while enrolling = %d", res.StatusCode)
	}
	a.AnswerLastCall(t, landline, "#")
	if res := c.PostForm("/sign-in/confirm/call/continue", nil); res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("enrolment by call = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("enrolling alone signed the person in; a second check is needed")
	}
	c.PostForm("/sign-in/confirm/call", nil)
	a.AnswerLastCall(t, landline, "#")
	if res := c.PostForm("/sign-in/confirm/call/continue", nil); res.Header.Get("Location") != "/account" {
		t.Fatalf("the second call = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestCallMeThroughTwilio places the call through a Twilio-compatible API
// and takes the keypad answer from its signed callback, as in production.
func TestCallMeThroughTwilio(t *testing.T) {
	twilio := apptest.NewFakeTwilio(t)
	a := apptest.NewApp(t, apptest.Options{Configure: twilio.Configure})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, landline, false)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	c.PostForm("/sign-in/confirm/call", nil)
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := twilio.Calls()
	if len(calls) != 1 || calls[0].Get("To") != landline {
		t.Fatalf("Twilio was asked for %d calls", len(calls))
	}
	action := twilio.ActionURL(t, calls[0])
	signedIn := func() bool {
		return c.PostForm("/sign-in/confirm/call/continue", nil).Header.Get("Location") == "/account"
	}
	u, _ := url.Parse(action)
	q := u.Query()
	q.Set("challenge", strings.Repeat("A", len(q.Get("challenge"))))
	u.RawQuery = q.Encode()
	for _, tc := range []struct {
		name, action, digits string
	}{
		{"no key but #", action, "1"},
		{"# for another challenge", u.String(), "#"},
	} {
		if status := twilio.Press(t, tc.action, tc.digits); status != http.StatusOK {
			t.Fatalf("%s: callback = %d", tc.name, status)
		}
		if signedIn() {
			t.Fatalf("%s signed in", tc.name)
		}
	}
	badly := url.Values{"Digits": {"#"}}
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(badly.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(action, url.Values{"Digits": {"1"}}))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a callback with a forged key = %d, want 403", res.StatusCode)
	}
	if signedIn() {
		t.Fatal("a forged callback signed in")
	}
	if status := twilio.Press(t, action, "#"); status != http.StatusOK {
		t.Fatalf("callback = %d", status)
	}
	if !signedIn() {
		t.Fatal("# on this call did not sign in")
	}
}

func TestAnAnsweredCallToOneNumberDoesNotEnrolAnother(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	if res := c.PostForm("/sign-in/confirm/call", url.Values{"country": {"GB"}, "phone": {""}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("Call Me with no number = %d, want 422", res.StatusCode)
	}
	c.PostForm("/sign-in/confirm/call", url.Values{"country": {"GB"}, "phone": {"020 7946 0001"}}) // the person's own landline
	c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 123456"}})  // then someone else's mobile
	a.AnswerLastCall(t, landline, "#")
	res := c.PostForm("/sign-in/confirm/call/continue", nil)
	if res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("continue = %d %q, want back to ask again", res.StatusCode, res.Header.Get("Location"))
	}
	got, _ := accounts.NewStore(a.DB.Gorm).Get(context.Background(), p.ID)
	if got.PhoneSealed != "" {
		t.Fatalf("a call answered on one number enrolled another (%s)", got.PhoneHint)
	}
}

func TestTenWrongPhoneCodesLockSignInAndEndTheSession(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.PasswordStep(t, c, p) // a right password clears earlier failures
	var res *apptest.Response
	for i := 0; i < 10; i++ {
		if i%auth.CodeMaxFailures == 0 {
			c.PostForm("/sign-in/confirm/send", nil) // a new code after five wrong ones
		}
		res = c.PostForm("/sign-in/confirm/verify", url.Values{"code": {"000000"}})
	}
	if got, want := res.Text(".govuk-error-summary a"), a.T("auth.sign_in.error_locked", "Time", "10:00"); got != want {
		t.Fatalf("after ten wrong phone codes: %d %q, want %q", res.StatusCode, got, want)
	}
	if got := a.LastSent(t, "email", p.Email); got.Subject != a.T("email_account_locked.subject") {
		t.Fatalf("the holder was sent %q", got.Subject)
	}
	if res := c.PostForm("/sign-in/confirm/call", nil); res.StatusCode == http.StatusOK {
		t.Fatal("Call Me carried on after the lockout")
	}
}
