package journeys_test

import (
	"net/http"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

// TestSignInPasswordStep walks from the home page's "Sign in" button through
// a wrong and a right password to "Confirm your identity", on a phone.
func TestSignInPasswordStep(t *testing.T) {
	a := newApp(t)
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	b := apptest.NewBrowser(t)

	b.Visit(a.URL + "/")
	if status := b.ClickAndWait(`a[href="/sign-in"].govuk-button`); status != http.StatusOK {
		t.Fatalf("sign-in page: status %d", status)
	}
	b.Axe(t)
	b.Fill("#email", "parent@example.net")
	b.Fill("#password", "wrong-password")
	if status := b.ClickAndWait(`form[action="/sign-in"] button`); status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong password: status %d, want 422", status)
	}
	if got, want := b.Text(".govuk-error-summary a"), tr(t, a.T, "auth.sign_in.error_wrong"); got != want {
		t.Fatalf("error summary = %q, want %q", got, want)
	}
	b.Axe(t)
	if v := b.CSPViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}
	b.ClearLogs() // Chrome logs the expected 422 itself as a console error
	b.Fill("#password", apptest.Password)
	b.ClickAndWait(`form[action="/sign-in"] button`)
	if b.Path() != "/sign-in/confirm" || b.Text("h1") != tr(t, a.T, "auth.confirm.title") {
		t.Fatalf("after the right password: %s %q", b.Path(), b.Text("h1"))
	}
	b.Axe(t)

	// First sign-in: add a mobile number, then confirm it twice (guide 000, steps 11–12).
	b.Fill("#phone", "07911 123456")
	b.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	b.Axe(t)
	typeTextedCode(t, a, b)
	b.WaitFor(`location.pathname === "/sign-in/confirm" && !!document.querySelector('form[action="/sign-in/confirm/send"] button')`, 10*time.Second)
	b.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	typeTextedCode(t, a, b)
	b.WaitFor(`location.pathname === "/account"`, 10*time.Second)
	if got, want := b.Text("h1"), tr(t, a.T, "account.select.title"); got != want {
		t.Fatalf("signed in, the page says %q, want %q", got, want)
	}
	b.Axe(t)
	b.AssertClean()
}

// typeTextedCode reads the newest text from the dev outbox and types its
// code; the page sends itself on the sixth digit.
func typeTextedCode(t *testing.T, a *apptest.TestApp, b *apptest.Browser) {
	t.Helper()
	text := a.LastSent(t, "sms", "")
	if text.Code() == "" {
		t.Fatalf("no code in the text %q", text.Body)
	}
	b.Fill("#code", text.Code())
}
