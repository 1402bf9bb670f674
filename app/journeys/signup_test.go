package journeys_test

import (
	"testing"

	"portal/app/apptest"
)

// TestSignUpNow follows guide 000 steps 5–10 in a phone-sized browser,
// reading the verification code from the dev outbox.
func TestSignUpNow(t *testing.T) {
	a := newApp(t)
	b := apptest.NewBrowser(t)

	b.Visit(a.URL + "/sign-in")
	b.ClickAndWait(`a[href="/sign-up"]`)
	b.Axe(t)
	b.Fill("#email", "new.carer@example.net")
	b.ClickAndWait(`form[action="/sign-up/send"] button`)
	b.Axe(t)
	email := a.LastSent(t, "email", "new.carer@example.net")
	code := email.Code()
	if code == "" {
		t.Fatalf("no code in the email: %q", email.Body)
	}
	b.Fill("#code", code)
	b.ClickAndWait(`form[action="/sign-up/verify"] button`)
	if got, want := b.Text(".govuk-panel__body"), tr(t, a.T, "auth.sign_up.verified"); got != want {
		t.Fatalf("after Verify code: %q", got)
	}
	b.ClickAndWait(`a[href="/sign-up/details"]`)
	b.Axe(t)
	b.Fill("#given_name", "Cara")
	b.Fill("#family_name", "Carer")
	b.Fill("#password", "correct horse battery")
	b.Fill("#password_confirm", "correct horse battery")
	b.ClickAndWait(`form[action="/sign-up/details"] button`)
	if b.Path() != "/sign-in/confirm" {
		t.Fatalf("after Create: %s", b.Path())
	}
	b.AssertClean()
}
