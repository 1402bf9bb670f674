package auth_test

import (
	"net/http"
	"net/url"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/audit"
)

// signInTargets lists the targets of p's sign-in events, oldest first.
func signInTargets(t *testing.T, a *apptest.TestApp, p *accounts.Person) []string {
	t.Helper()
	var targets []string
	if err := a.DB.Gorm.Raw(`SELECT target FROM audit_events WHERE action = ? AND actor_id = ? ORDER BY id`,
		audit.SignedIn, p.ID).Scan(&targets).Error; err != nil {
		t.Fatal(err)
	}
	return targets
}

// TestASignInRecordsHowItWasConfirmed: the event of a completed sign-in
// names the way its second step passed, which the admin's service
// overview counts; nothing else (no number, no code) goes with it.
func TestASignInRecordsHowItWasConfirmed(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	t.Run("by a texted code", func(t *testing.T) {
		p := a.NewPerson(t, "texted@example.net", accounts.RoleCitizen, "")
		a.GivePhone(t, p, "+447911123456", true)
		c := a.Client(t)
		a.PasswordStep(t, c, p)
		c.PostForm("/sign-in/confirm/send", nil)
		if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("verify = %d", res.StatusCode)
		}
		if got := signInTargets(t, a, p); len(got) != 1 || got[0] != "method:text" {
			t.Fatalf("sign-in events %q, want one of method:text", got)
		}
	})
	t.Run("by a call", func(t *testing.T) {
		p := a.NewPerson(t, "called@example.net", accounts.RoleCitizen, "")
		a.GivePhone(t, p, landline, false)
		c := a.Client(t)
		callPage(t, a, c, p)
		a.AnswerLastCall(t, landline, "#")
		if res := c.PostForm("/sign-in/confirm/call/continue", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("continue = %d", res.StatusCode)
		}
		if got := signInTargets(t, a, p); len(got) != 1 || got[0] != "method:call" {
			t.Fatalf("sign-in events %q, want one of method:call", got)
		}
	})
}
