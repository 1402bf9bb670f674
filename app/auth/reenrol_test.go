package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestANumberStaffRemovedIsReplacedWithinThreeDaysAfterAnEmailedCode(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	people := accounts.NewStore(a.DB.Gorm)
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	if err := people.RemovePhone(context.Background(), p.ID, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(ReenrolWindowMinusOneMinute)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	page := c.Get("/sign-in/confirm")
	if page.Doc.Find("#phone").Length() != 0 || page.Doc.Find(`form[action="/sign-in/confirm/email/send"]`).Length() != 1 {
		t.Fatal("after a removal the new number is asked for before the emailed code")
	}
	if res := c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 123457"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a number without the emailed code = %d, want back to the check", res.StatusCode)
	}
	c.PostForm("/sign-in/confirm/email/send", nil)
	email := a.LastSent(t, "email", p.Email)
	if email.Code() == "" {
		t.Fatalf("no code in %q", email.Body)
	}
	if res := c.PostForm("/sign-in/confirm/email/verify", url.Values{"code": {"000000"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong emailed code = %d, want 422", res.StatusCode)
	}
	c.PostForm("/sign-in/confirm/email/verify", url.Values{"code": {email.Code()}})
	if c.Get("/sign-in/confirm").Doc.Find("#phone").Length() != 1 {
		t.Fatal("after the emailed code the new number is not asked for")
	}
	c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 123457"}})
	c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123457").Code()}})
	got, _ := people.Get(context.Background(), p.ID)
	if got.PhoneSealed == "" || got.PhoneRemovedAt != nil {
		t.Fatalf("the new number was not saved: hint %q, removed at %v", got.PhoneHint, got.PhoneRemovedAt)
	}
}

// ReenrolWindowMinusOneMinute is inside the 72 hours.
const ReenrolWindowMinusOneMinute = 72*time.Hour - time.Minute

func TestAfterThreeDaysOnlyStaffCanReopenEnrolment(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	if err := accounts.NewStore(a.DB.Gorm).RemovePhone(context.Background(), p.ID, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(72 * time.Hour)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	page := c.Get("/sign-in/confirm")
	if page.Doc.Find(`main form[action^="/sign-in/confirm"]`).Length() != 0 {
		t.Fatal("72 hours after the removal the page still offers a way on")
	}
	if res := c.PostForm("/sign-in/confirm/email/send", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("an emailed code after 72 hours = %d", res.StatusCode)
	}
	if res := c.PostForm("/sign-in/confirm/call", url.Values{"country": {"GB"}, "phone": {"020 7946 0001"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a call to a new number after 72 hours = %d", res.StatusCode)
	}
}

func TestSendLimitsHoldAcrossTwoAppInstances(t *testing.T) {
	one := apptest.NewApp(t, apptest.Options{})
	two := apptest.NewApp(t, apptest.Options{DSN: one.DSN})
	two.Clock.Set(one.Clock.Now())
	p := one.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	one.GivePhone(t, p, "+447911123456", true)
	c1, c2 := one.Client(t), two.Client(t)
	one.PasswordStep(t, c1, p)
	two.PasswordStep(t, c2, p)
	for i, c := range []*apptest.Client{c1, c2, c1, c2, c1} { // five texts an hour per person
		if res := c.PostForm("/sign-in/confirm/send", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("text %d = %d", i+1, res.StatusCode)
		}
	}
	res := c2.PostForm("/sign-in/confirm/send", nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the 6th text, on the other machine = %d, want 429", res.StatusCode)
	}
	if got, want := res.Text("#call-error"), "Error: "+one.T("auth.code.error_limit", "Time", "10:00"); got != want {
		t.Fatalf("the page says %q, want %q", got, want)
	}
}

func TestAnEmailedCodeInTimeDoesNotHoldTheWindowOpen(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	if err := accounts.NewStore(a.DB.Gorm).RemovePhone(context.Background(), p.ID, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(ReenrolWindowMinusOneMinute)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	c.PostForm("/sign-in/confirm/email/send", nil)
	c.PostForm("/sign-in/confirm/email/verify", url.Values{"code": {a.LastSent(t, "email", p.Email).Code()}})
	a.Clock.Advance(2 * time.Minute)
	c.Get("/sign-in/confirm") // activity: the session is alive
	if res := c.PostForm("/sign-in/confirm/send", url.Values{"country": {"GB"}, "phone": {"07911 123457"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a number past 72 hours = %d, want refused", res.StatusCode)
	}
}
