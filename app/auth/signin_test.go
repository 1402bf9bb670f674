package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// volatile strips what differs between any two responses (tokens, ids).
var volatile = regexp.MustCompile(`(content|value)="[A-Za-z0-9_\-]{20,}"|[0-9a-f]{8}-[0-9a-f-]{27}`)

func TestSignInWithPassword(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")

	attempt := func(email, password string) *apptest.Response {
		c := a.Client(t)
		c.Get("/sign-in")
		return c.PostForm("/sign-in", url.Values{"email": {email}, "password": {password}})
	}
	t.Run("empty fields are a 422 with a message for each", func(t *testing.T) {
		res := attempt("", "")
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", res.StatusCode)
		}
		if res.Doc.Find(".govuk-error-summary a").Length() != 2 {
			t.Fatal("the error summary does not list both fields")
		}
	})
	t.Run("a wrong password and an unknown email get the same answer", func(t *testing.T) {
		wrong := attempt("parent@example.net", "Not-the-password-1")
		unknown := attempt("nobody@example.net", "Not-the-password-1")
		if wrong.StatusCode != http.StatusUnprocessableEntity || unknown.StatusCode != wrong.StatusCode {
			t.Fatalf("statuses %d and %d", wrong.StatusCode, unknown.StatusCode)
		}
		a1 := volatile.ReplaceAllString(wrong.Body, "")
		a2 := volatile.ReplaceAllString(unknown.Body, "")
		a2 = regexp.MustCompile(`nobody@example.net`).ReplaceAllString(a2, "parent@example.net")
		if a1 != a2 {
			t.Fatal("a known and an unknown email are told apart")
		}
		if wrong.Text(".govuk-error-summary") == "" {
			t.Fatal("no error shown")
		}
	})
	t.Run("the right password rotates the session to AAL1, which cannot pass sign-in", func(t *testing.T) {
		c := a.Client(t)
		c.Get("/sign-in")
		before := c.Cookie(a.Sessions.CookieName)
		res := c.PostForm("/sign-in", url.Values{"email": {"PARENT@example.net"}, "password": {apptest.Password}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sign-in/confirm" {
			t.Fatalf("status %d location %q", res.StatusCode, res.Header.Get("Location"))
		}
		if after := c.Cookie(a.Sessions.CookieName); after == "" || after == before {
			t.Fatal("the session was not rotated at sign-in")
		}
		if page := c.Get("/sign-in/confirm"); !strings.Contains(page.Body, a.T("auth.confirm.title")) {
			t.Fatal("no Confirm your identity page")
		}
		if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("AAL1 reached a signed-in page: %d", res.StatusCode)
		}
	})
}

func TestLockoutAfterTenWrongPasswordsForOneHour(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	c.Get("/sign-in")
	try := func(email, password string) *apptest.Response {
		return c.PostForm("/sign-in", url.Values{"email": {email}, "password": {password}})
	}
	locked := a.T("auth.sign_in.error_locked", "Time", "10:00")
	for i := 1; i <= 9; i++ {
		if res := try("Parent@Example.net", "wrong"); strings.Contains(res.Body, "try again after") || res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("locked (or not 422) after %d failures", i)
		}
	}
	res := try("parent@example.net", "wrong")
	if !strings.Contains(res.Text(".govuk-error-summary"), locked) {
		t.Fatalf("the 10th failure did not lock until 10:00: %q", res.Text(".govuk-error-summary"))
	}
	if res := try("parent@example.net", apptest.Password); !strings.Contains(res.Text(".govuk-error-summary"), locked) {
		t.Fatal("the right password got through while locked")
	}
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var emails int
	a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE recipient = 'parent@example.net' AND subject = ?`,
		a.T("email_account_locked.subject")).Scan(&emails)
	if emails != 1 {
		t.Fatalf("lock emails = %d, want 1", emails)
	}
	a.Clock.Advance(59*time.Minute + 59*time.Second)
	if res := try("parent@example.net", apptest.Password); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("released before the hour: %d", res.StatusCode)
	}
	a.Clock.Advance(time.Second)
	if res := try("parent@example.net", apptest.Password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("not released after the hour: %d %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
}

func TestUnknownEmailsAreLockedAlike(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	c.Get("/sign-in")
	var res *apptest.Response
	for i := 0; i < 10; i++ {
		res = c.PostForm("/sign-in", url.Values{"email": {"nobody@example.net"}, "password": {"wrong"}})
	}
	if !strings.Contains(res.Text(".govuk-error-summary"), a.T("auth.sign_in.error_locked", "Time", "10:00")) {
		t.Fatalf("an unknown email is not locked like a known one: %q", res.Text(".govuk-error-summary"))
	}
}

// TestACompletedResetLiftsTheLock: the lockout message offers "reset your
// password"; a reset, whose emailed code proves the owner, lifts the lock.
func TestACompletedResetLiftsTheLock(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	c.Get("/sign-in")
	for range 10 {
		c.PostForm("/sign-in", url.Values{"email": {person.Email}, "password": {"wrong"}})
	}
	res := c.PostForm("/sign-in", url.Values{"email": {person.Email}, "password": {apptest.Password}})
	if !strings.Contains(res.Text(".govuk-error-summary"), a.T("auth.sign_in.error_locked", "Time", "10:00")) {
		t.Fatalf("not locked: %q", res.Text(".govuk-error-summary"))
	}
	r := a.Client(t)
	r.Get("/forgot-password")
	r.PostForm("/forgot-password/send", url.Values{"email": {person.Email}})
	r.PostForm("/forgot-password/verify", url.Values{"code": {a.LastSent(t, "email", person.Email).Code()}})
	if res := r.PostForm("/forgot-password/password", url.Values{"password": {"New-Horse-42"}, "password_confirm": {"New-Horse-42"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the reset = %d", res.StatusCode)
	}
	if res := c.PostForm("/sign-in", url.Values{"email": {person.Email}, "password": {"New-Horse-42"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after a completed reset, sign-in = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
}

// In a sign-in storm (every hashing slot and place in line taken) a
// person is told at once to try again in a moment, their email kept, and
// signs in once the storm has passed.
func TestASignInInAStormIsAskedToTryAgain(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	attempt := func() *apptest.Response {
		c := a.Client(t)
		c.Get("/sign-in")
		return c.PostForm("/sign-in", url.Values{"email": {"parent@example.net"}, "password": {apptest.Password}})
	}
	release := a.Hasher.Occupy()
	res := attempt()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(res.Doc.Find(".govuk-error-summary").Text(), "The service is busy at this moment") {
		t.Fatalf("no busy message: %s", res.Doc.Find(".govuk-error-summary").Text())
	}
	if v, _ := res.Doc.Find("input[name=email]").Attr("value"); v != "parent@example.net" {
		t.Fatalf("email not kept: %q", v)
	}
	release()
	if res := attempt(); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the storm: status %d", res.StatusCode)
	}
}
