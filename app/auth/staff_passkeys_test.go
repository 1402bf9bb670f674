package auth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/config"
)

// TestACouncilCanRequirePasskeysForStaff (STAFF_PASSKEYS): a member of
// staff without a passkey signs in with the phone and is sent to add one
// before the staff view; once they have one, the phone code no longer
// signs them in. Citizens keep the phone code.
func TestACouncilCanRequirePasskeysForStaff(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{Configure: func(c *config.Config) { c.StaffPasskeys = true }})
	team := a.NewTeam(t, "Fostering")
	w := a.NewWorker(t, "worker@example.org", team)
	a.GivePhone(t, w, "+447911123456", true)
	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, parent, "+447911654321", true)

	phoneSignIn := func(p *accounts.Person, number string) *apptest.Client {
		t.Helper()
		c := a.Client(t)
		a.PasswordStep(t, c, p)
		c.PostForm("/sign-in/confirm/send", nil)
		c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", number).Code()}})
		return c
	}
	c := phoneSignIn(w, "+447911123456")
	if res := c.Get("/staff"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile/sign-in-methods/passkeys/new" {
		t.Fatalf("the staff view without a passkey = %d %q, want Add a passkey", res.StatusCode, res.Header.Get("Location"))
	}
	if page := c.Get("/profile/sign-in-methods/passkeys/new"); !strings.Contains(page.Text("#flash"), a.T("auth.passkey.staff_add")) {
		t.Fatalf("Add a passkey does not say why: %q", page.Text("#flash"))
	}

	// A code texted just before a passkey was added (as the browser's
	// dialog would have added it, on another device) no longer signs in.
	late := a.Client(t)
	a.PasswordStep(t, late, w)
	late.PostForm("/sign-in/confirm/send", nil)
	a.DB.Gorm.Exec(`INSERT INTO passkeys (person_id, name, credential_id, credential, created_at)
		VALUES (?, 'Work laptop', '\x01'::bytea, '{}', now())`, w.ID)
	if res := late.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "+447911123456").Code()}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a right phone code for staff with a passkey = %d %q, want 403", res.StatusCode, res.Header.Get("Location"))
	}
	s := a.Client(t)
	a.PasswordStep(t, s, w)
	if page := s.Get("/sign-in/confirm"); !strings.Contains(page.Text("main"), a.T("auth.passkey.staff_only")) || page.Text("#call") != "" {
		t.Fatalf("the confirm page for staff with a passkey offers: %q", page.Text("main"))
	}
	for _, path := range []string{"/sign-in/confirm/send", "/sign-in/confirm/call", "/sign-in/confirm/app", "/sign-in/confirm/recovery"} {
		if res := s.PostForm(path, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s for staff with a passkey = %d, want 403", path, res.StatusCode)
		}
	}
	var texts int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE recipient = '+447911123456'`).Scan(&texts)
	if texts != 2 {
		t.Errorf("%d texts to the worker, want 2 (none once the passkey is there)", texts)
	}
	if res := s.Get("/staff"); res.StatusCode == http.StatusOK {
		t.Fatal("the phone code signed staff in")
	}

	p := phoneSignIn(parent, "+447911654321")
	if res := p.Get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("a citizen with the phone code = %d, want signed in", res.StatusCode)
	}
}
