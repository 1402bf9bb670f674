package auth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/auth"
)

// appCode is the code an authenticator app with secret shows at t.
func appCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// signedInCarer is a carer with a phone, just signed in (so their last
// check is fresh), and their client.
func signedInCarer(t *testing.T) (*apptest.TestApp, *accounts.Person, *apptest.Client) {
	t.Helper()
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.SignIn(t, c, p)
	return a, p, c
}

// addApp sets up an authenticator app for the signed-in client and returns
// its secret and the recovery codes shown once.
func addApp(t *testing.T, a *apptest.TestApp, c *apptest.Client) (string, []string) {
	t.Helper()
	page := c.Get("/profile/sign-in-methods/app")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("set-up page = %d %q", page.StatusCode, page.Header.Get("Location"))
	}
	secret := strings.ReplaceAll(page.Text("#app-secret"), " ", "")
	if qr := c.Get("/profile/sign-in-methods/app/qr.png"); qr.StatusCode != http.StatusOK || qr.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR code = %d %q", qr.StatusCode, qr.Header.Get("Content-Type"))
	}
	if res := c.PostForm("/profile/sign-in-methods/app", url.Values{"code": {"000000"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong first code = %d, want 422", res.StatusCode)
	}
	res := c.PostForm("/profile/sign-in-methods/app", url.Values{"code": {appCode(t, secret, a.Clock.Now())}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the first code = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	codes := strings.Fields(res.Text("#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown = %q, want 10", codes)
	}
	return secret, codes
}

// TestAnAuthenticatorAppSignsIn: set up with a first code, then at sign-in
// a code from the app stands in for the phone: once each, never an older
// one, one step either side of now, and the change is emailed.
func TestAnAuthenticatorAppSignsIn(t *testing.T) {
	a, p, c := signedInCarer(t)
	secret, _ := addApp(t, a, c)
	if got := a.LastSent(t, "email", p.Email); got.Subject != a.T("email_methods_changed.subject") {
		t.Fatalf("the account was emailed %q", got.Subject)
	}
	if page := c.Get("/profile/sign-in-methods"); !strings.Contains(page.Text("main"), a.T("auth.methods.app_remove")) {
		t.Fatal("Sign-in methods does not list the app")
	}
	setUpAt := a.Clock.Now()

	signIn := func(code string) *apptest.Response {
		t.Helper()
		s := a.Client(t)
		a.PasswordStep(t, s, p)
		if page := s.Get("/sign-in/confirm"); page.Text("label[for=app_code]") == "" {
			t.Fatal("the confirm page offers no app code")
		}
		return s.PostForm("/sign-in/confirm/app", url.Values{"app_code": {code}})
	}
	if res := signIn(appCode(t, secret, setUpAt)); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the set-up code again = %d, want 422 (taken once)", res.StatusCode)
	}
	a.Clock.Advance(90 * time.Second)
	if res := signIn(appCode(t, secret, a.Clock.Now().Add(-60*time.Second))); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a code two steps old = %d, want 422", res.StatusCode)
	}
	if res := signIn(appCode(t, secret, a.Clock.Now().Add(30*time.Second))); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("the next step's code = %d %q, want signed in", res.StatusCode, res.Header.Get("Location"))
	}
	if res := signIn(appCode(t, secret, a.Clock.Now().Add(-30*time.Second))); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a code older than the last taken = %d, want 422", res.StatusCode)
	}
	a.Clock.Advance(60 * time.Second)
	if res := signIn(appCode(t, secret, a.Clock.Now())); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a fresh code = %d, want signed in", res.StatusCode)
	}
}

// TestAppCodesHaveFiveTries: the sixth code in ten minutes waits, even a
// right one; each wrong one counts towards the sign-in lockout.
func TestAppCodesHaveFiveTries(t *testing.T) {
	a, p, c := signedInCarer(t)
	secret, _ := addApp(t, a, c)
	a.Clock.Advance(10 * time.Minute) // past the window of the wrong code tried at set-up
	s := a.Client(t)
	a.PasswordStep(t, s, p)
	for i := range 5 {
		if res := s.PostForm("/sign-in/confirm/app", url.Values{"app_code": {"000000"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d = %d, want 422", i+1, res.StatusCode)
		}
	}
	if res := s.PostForm("/sign-in/confirm/app", url.Values{"app_code": {appCode(t, secret, a.Clock.Now())}}); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a sixth code = %d, want 429", res.StatusCode)
	}
	a.Clock.Advance(10 * time.Minute)
	if res := s.PostForm("/sign-in/confirm/app", url.Values{"app_code": {appCode(t, secret, a.Clock.Now())}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a right code ten minutes later = %d, want signed in", res.StatusCode)
	}
}

// TestARecoveryCodeSignsInOnce: a code stands in for the phone once, and
// the account is told.
func TestARecoveryCodeSignsInOnce(t *testing.T) {
	a, p, c := signedInCarer(t)
	_, codes := addApp(t, a, c)

	use := func(code string) *apptest.Response {
		t.Helper()
		s := a.Client(t)
		a.PasswordStep(t, s, p)
		s.Get("/sign-in/confirm/recovery")
		return s.PostForm("/sign-in/confirm/recovery", url.Values{"code": {code}})
	}
	if res := use(strings.ToLower(codes[3])); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("a recovery code = %d %q, want signed in", res.StatusCode, res.Header.Get("Location"))
	}
	if got := a.LastSent(t, "email", p.Email); got.Subject != a.T("email_recovery_code_used.subject") {
		t.Fatalf("the account was emailed %q", got.Subject)
	}
	if res := use(codes[3]); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the same code again = %d, want 422", res.StatusCode)
	}
	if page := c.Get("/profile/sign-in-methods"); !strings.Contains(page.Text("main"), a.T("auth.methods.recovery_left", "N", 9)) {
		t.Fatalf("Sign-in methods says %q", page.Text("main"))
	}
	// New codes retire the old ones.
	c.PostForm("/profile/sign-in-methods/recovery-codes", nil)
	if res := use(codes[4]); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an old code after new ones were made = %d, want 422", res.StatusCode)
	}
}

// TestAChangeNeedsAFreshCheck: ten minutes after the last check, a change
// of sign-in methods asks for one first (here, with the app).
func TestAChangeNeedsAFreshCheck(t *testing.T) {
	a, p, c := signedInCarer(t)
	secret, _ := addApp(t, a, c)
	a.Clock.Advance(auth.FreshCheck + time.Second)
	for _, res := range []*apptest.Response{c.Get("/profile/sign-in-methods/app"),
		c.PostForm("/profile/sign-in-methods/app/remove", nil), c.PostForm("/profile/sign-in-methods/recovery-codes", nil)} {
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile/sign-in-methods/confirm" {
			t.Fatalf("a change after %v = %d %q, want the check", auth.FreshCheck, res.StatusCode, res.Header.Get("Location"))
		}
	}
	c.Get("/profile/sign-in-methods/confirm")
	res := c.PostForm("/profile/sign-in-methods/confirm/app", url.Values{"app_code": {appCode(t, secret, a.Clock.Now())}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile/sign-in-methods" {
		t.Fatalf("the check = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	c.Get("/profile/sign-in-methods")
	if res := c.PostForm("/profile/sign-in-methods/app/remove", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing the app after the check = %d", res.StatusCode)
	}
	if got := a.LastSent(t, "email", p.Email); got.Subject != a.T("email_methods_changed.subject") {
		t.Fatalf("the account was emailed %q", got.Subject)
	}
}

// TestTheLastWayCannotBeRemoved: a person whose only way is the app keeps it.
func TestTheLastWayCannotBeRemoved(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "") // no phone
	c := a.Client(t)
	a.SignIn(t, c, p)
	addApp(t, a, c)
	c.Get("/profile/sign-in-methods")
	res := c.PostForm("/profile/sign-in-methods/app/remove", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Text(".govuk-error-summary"), a.T("auth.methods.error_last")) {
		t.Fatalf("removing the only way = %d %q, want 422 saying why", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	if page := c.Get("/profile/sign-in-methods"); !strings.Contains(page.Text("main"), a.T("auth.methods.app_remove")) {
		t.Fatal("the app is gone")
	}
}

// TestAPhoneNumberIsChangedAfterAFreshCheck: the new number is proven with
// a code before it replaces the old; without a fresh check, the check
// comes first; the account is told.
func TestAPhoneNumberIsChangedAfterAFreshCheck(t *testing.T) {
	a, p, c := signedInCarer(t)
	a.Clock.Advance(auth.FreshCheck + time.Second)
	if res := c.Get("/profile/sign-in-methods/phone"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile/sign-in-methods/confirm" {
		t.Fatalf("changing the number without a fresh check = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	c.Get("/profile/sign-in-methods/confirm")
	c.PostForm("/profile/sign-in-methods/confirm/send", nil)
	c.PostForm("/profile/sign-in-methods/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123456").Code()}})

	if page := c.Get("/profile/sign-in-methods/phone"); page.StatusCode != http.StatusOK || page.Text("label[for=phone]") == "" {
		t.Fatalf("the new number's page = %d", page.StatusCode)
	}
	if res := c.PostForm("/profile/sign-in-methods/phone/send", url.Values{"country": {"GB"}, "phone": {"07911 123 457"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("sending to the new number = %d %q %q", res.StatusCode, res.Header.Get("Location"), res.Text(".govuk-error-summary"))
	}
	if res := c.PostForm("/profile/sign-in-methods/phone/verify", url.Values{"code": {"000000"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong code = %d, want 422", res.StatusCode)
	}
	code := a.LastSent(t, "sms", "+447911123457").Code()
	if res := c.PostForm("/profile/sign-in-methods/phone/verify", url.Values{"code": {code}}); res.Header.Get("Location") != "/profile/sign-in-methods" {
		t.Fatalf("the new number's code = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if page := c.Get("/profile/sign-in-methods"); !strings.Contains(page.Text("main"), "457") {
		t.Fatalf("Sign-in methods shows %q", page.Text("main"))
	}
	if got := a.LastSent(t, "email", p.Email); got.Subject != a.T("email_methods_changed.subject") {
		t.Fatalf("the account was emailed %q", got.Subject)
	}
	s := a.Client(t)
	a.PasswordStep(t, s, p)
	s.PostForm("/sign-in/confirm/send", nil)
	if res := s.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123457").Code()}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("signing in with the new number = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestSignInMethodsSpeakWelsh: every new page has its Welsh words.
func TestSignInMethodsSpeakWelsh(t *testing.T) {
	a, _, c := signedInCarer(t)
	cy := a.Bundle.For("cy")
	for path, title := range map[string]string{
		"/profile/sign-in-methods?lang=cy":              "auth.methods.title",
		"/profile/sign-in-methods/app?lang=cy":          "auth.methods.app_title",
		"/profile/sign-in-methods/passkeys/new?lang=cy": "auth.passkey.add_title",
		"/profile/sign-in-methods/phone?lang=cy":        "auth.methods.phone_change_title",
	} {
		if got := c.Get(path).Text("h1"); got != cy.T(title) {
			t.Errorf("%s: h1 %q, want %q", path, got, cy.T(title))
		}
	}
}
