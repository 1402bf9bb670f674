package journeys_test

import (
	"net/http"
	"testing"

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
	b.Fill("#password", "Correct-Horse-9")
	b.ClickAndWait(`form[action="/sign-in"] button`)
	if b.Path() != "/sign-in/confirm" || b.Text("h1") != tr(t, a.T, "auth.confirm.title") {
		t.Fatalf("after the right password: %s %q", b.Path(), b.Text("h1"))
	}
	b.Axe(t)
	b.AssertClean()
}
