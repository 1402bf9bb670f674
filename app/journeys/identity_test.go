package journeys_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

// passwordStep signs in on the "Sign in" page and lands on "Confirm your
// identity".
func passwordStep(t *testing.T, a *apptest.TestApp, b *apptest.Browser, email, password string) {
	t.Helper()
	b.Visit(a.URL + "/sign-in")
	b.Fill("#email", email)
	b.Fill("#password", password)
	b.ClickAndWait(`form[action="/sign-in"] button`)
	if b.Path() != "/sign-in/confirm" {
		t.Fatalf("after the password: %s %q", b.Path(), b.Text(".govuk-error-summary"))
	}
}

// signInByText does the password step and a texted code, ending where
// sign-in leads.
func signInByText(t *testing.T, a *apptest.TestApp, b *apptest.Browser, email, password string) {
	t.Helper()
	passwordStep(t, a, b, email, password)
	b.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	typeTextedCode(t, a, b)
	b.WaitFor(`location.pathname !== "/sign-in/confirm/send"`, 10*time.Second)
}

// TestCallMeOnALandline follows guide 003 step 10 on a phone: a landline
// gets "Call Me" only; the page waits, and signs in by itself once # is
// pressed on the call.
func TestCallMeOnALandline(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+442079460001", false)
	b := apptest.NewBrowser(t)

	passwordStep(t, a, b, p.Email, apptest.Password)
	if b.Exists(`form[action="/sign-in/confirm/send"]`) {
		t.Fatal("a landline is offered Send Code")
	}
	b.Axe(t)
	b.ClickAndWait(`form[action="/sign-in/confirm/call"] button`)
	if got, want := b.Text("main p.govuk-body"), a.T("auth.call.calling", "Phone", "•••• ••• 001"); got != want {
		t.Fatalf("the waiting page says %q", got)
	}
	b.Axe(t)
	assertReflows(t, b)
	a.AnswerLastCall(t, "+442079460001", "#")
	b.WaitFor(`location.pathname === "/account"`, 15*time.Second)
	if got, want := b.Text("h1"), tr(t, a.T, "account.select.title"); got != want {
		t.Fatalf("signed in by the call, the page says %q, want %q", got, want)
	}
	b.AssertClean()
}

// TestForgotYourPassword follows guide 000's "How to change your password".
func TestForgotYourPassword(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	b := apptest.NewBrowser(t)

	b.Visit(a.URL + "/sign-in")
	b.ClickAndWait(`a[href="/forgot-password"]`)
	b.Axe(t)
	b.Fill("#email", p.Email)
	b.ClickAndWait(`form[action="/forgot-password/send"] button`)
	email := a.LastSent(t, "email", p.Email)
	if email.Subject != tr(t, a.T, "email_password_reset_code.subject") {
		t.Fatalf("the email is titled %q", email.Subject)
	}
	b.Fill("#code", email.Code())
	b.ClickAndWait(`form[action="/forgot-password/verify"] button`)
	b.Axe(t)
	b.Fill("#password", "a new long passphrase")
	b.Fill("#password_confirm", "a new long passphrase")
	b.ClickAndWait(`form[action="/forgot-password/password"] button`)
	if b.Path() != "/sign-in" || b.Text("#flash") == "" {
		t.Fatalf("after Continue: %s, flash %q", b.Path(), b.Text("#flash"))
	}
	b.Axe(t)
	signInByText(t, a, b, p.Email, "a new long passphrase")
	if b.Path() != "/account" {
		t.Fatalf("signing in with the new password and the phone: %s", b.Path())
	}
	b.AssertClean()
}

// TestLockedOutAfterTenWrongPasswords follows 004's "If you are locked out".
func TestLockedOutAfterTenWrongPasswords(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	b := apptest.NewBrowser(t)

	b.Visit(a.URL + "/sign-in")
	for i := 1; i <= 10; i++ {
		b.Fill("#email", p.Email)
		b.Fill("#password", "Wrong-Horse-9")
		b.ClickAndWait(`form[action="/sign-in"] button`)
	}
	if got, want := b.Text(".govuk-error-summary a"), a.T("auth.sign_in.error_locked", "Time", "10:00"); got != want {
		t.Fatalf("after ten wrong passwords the page says %q", got)
	}
	b.Axe(t)
	if got := a.LastSent(t, "email", p.Email); got.Subject != tr(t, a.T, "email_account_locked.subject") {
		t.Fatalf("the holder was sent %q", got.Subject)
	}
	b.Fill("#email", p.Email)
	b.Fill("#password", apptest.Password)
	if status := b.ClickAndWait(`form[action="/sign-in"] button`); status != http.StatusUnprocessableEntity || b.Path() != "/sign-in" {
		t.Fatalf("the right password while locked = %d at %s", status, b.Path())
	}
	a.Clock.Advance(time.Hour)
	b.Fill("#email", p.Email)
	b.Fill("#password", apptest.Password)
	b.ClickAndWait(`form[action="/sign-in"] button`)
	if b.Path() != "/sign-in/confirm" {
		t.Fatalf("an hour later the right password leads to %s", b.Path())
	}
	b.ClearLogs() // the 422s of the wrong passwords are logged by Chrome itself
	b.AssertClean()
}

// TestEditProfileAndChangeEmail follows 004's "How to change your My
// Norfolk account details", from the menu under the person's name.
func TestEditProfileAndChangeEmail(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "old@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, p)

	b.Visit(a.URL + "/account")
	b.Click("summary.app-account-menu__summary")
	b.ClickAndWait(`.app-account-menu a[href="/profile"]`)
	b.Axe(t)
	assertReflows(t, b)
	b.Fill("#given_name", "Cara")
	b.Fill("#postcode", "nr1 2dh")
	b.ClickAndWait(`form[action="/profile"] button`)
	if b.Text("#flash") == "" || b.Attr("#postcode", "value") != "NR1 2DH" {
		t.Fatalf("after Save changes: flash %q, postcode %q", b.Text("#flash"), b.Attr("#postcode", "value"))
	}
	if got := b.Text("summary.app-account-menu__summary"); !strings.HasPrefix(got, "Cara ") {
		t.Fatalf("the menu shows %q", got)
	}

	b.ClickAndWait(`a[href="/profile/email"]`)
	b.Axe(t)
	b.ClickAndWait(`form[action="/profile/email/send"] button`)
	typeTextedCode(t, a, b)
	b.WaitFor(`location.pathname === "/profile/email/new"`, 10*time.Second)
	b.Axe(t)
	b.Fill("#email", "new@example.net")
	b.ClickAndWait(`form[action="/profile/email/new/send"] button`)
	b.Fill("#code", a.LastSent(t, "email", "new@example.net").Code())
	b.ClickAndWait(`form[action="/profile/email/new/verify"] button`)
	if b.Path() != "/sign-in" || b.Text("#flash") == "" {
		t.Fatalf("after the change: %s, flash %q", b.Path(), b.Text("#flash"))
	}
	if got := a.LastSent(t, "email", "old@example.net"); got.Subject != tr(t, a.T, "email_address_changed.subject") {
		t.Fatalf("the old address was sent %q", got.Subject)
	}
	b.Axe(t)
	signInByText(t, a, b, "new@example.net", apptest.Password)
	if b.Path() != "/account" {
		t.Fatalf("signing in with the new address: %s", b.Path())
	}
	b.AssertClean()
}

// TestTermsThenLogOutFromTheMenu: before first use the terms and the
// updates choice (004), then "Logout" from the menu under the name (000).
func TestTermsThenLogOutFromTheMenu(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	a.DB.Gorm.Exec(`UPDATE people SET terms_accepted_at = NULL WHERE id = ?`, p.ID)
	b := apptest.NewBrowser(t)

	signInByText(t, a, b, p.Email, apptest.Password)
	b.WaitFor(`location.pathname === "/terms/accept"`, 10*time.Second)
	b.Axe(t)
	var ticked bool
	if b.Eval(`document.getElementById('updates').checked`, &ticked); ticked {
		t.Fatal("the updates box starts ticked")
	}
	b.Click("#terms")
	b.ClickAndWait(`form[action="/terms/accept"] button`)
	if got, want := b.Text("main p.govuk-body"), tr(t, a.T, "account.select.none"); got != want {
		t.Fatalf("Select an account says %q, want %q", got, want)
	}
	b.Axe(t)
	b.Click("summary.app-account-menu__summary")
	b.ClickAndWait(`.app-account-menu form[action="/sign-out"] button`)
	if b.Path() != "/signed-out" {
		t.Fatalf("after Log out: %s", b.Path())
	}
	if status := b.Visit(a.URL + "/account"); b.Path() != "/sign-in" {
		t.Fatalf("after Log out /account = %d at %s", status, b.Path())
	}
	b.AssertClean()
}

// TestStaffSignInLandsOnTheStaffView: staff use the same journey.
func TestStaffSignInLandsOnTheStaffView(t *testing.T) {
	a := newApp(t)
	w := a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker)
	a.GivePhone(t, w, "+447911123456", true)
	b := apptest.NewBrowser(t)
	signInByText(t, a, b, w.Email, apptest.Password)
	b.WaitFor(`location.pathname === "/staff"`, 10*time.Second)
	b.Axe(t)
	b.AssertClean()
}

// TestANewPhoneAfterStaffRemovedTheOld follows 002's "The phone number I
// use to login has changed": an emailed code, then the new number, twice.
func TestANewPhoneAfterStaffRemovedTheOld(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	if err := accounts.NewStore(a.DB.Gorm).RemovePhone(context.Background(), p.ID, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	b := apptest.NewBrowser(t)
	passwordStep(t, a, b, p.Email, apptest.Password)
	b.Axe(t)
	b.ClickAndWait(`form[action="/sign-in/confirm/email/send"] button`)
	b.Fill("#code", a.LastSent(t, "email", p.Email).Code())
	b.ClickAndWait(`form[action="/sign-in/confirm/email/verify"] button`)
	b.Fill("#phone", "07911 123457")
	b.ClickAndWait(`form[action="/sign-in/confirm/send"] button[type=submit]:not([formaction])`)
	typeTextedCode(t, a, b)
	b.WaitFor(`location.pathname === "/sign-in/confirm" && !!document.querySelector('form[action="/sign-in/confirm/send"] button')`, 10*time.Second)
	b.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	typeTextedCode(t, a, b)
	b.WaitFor(`location.pathname === "/account"`, 10*time.Second)
	b.AssertClean()
}
