package web_test

import (
	"net/http"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/config"
)

// TestRouteByRole proves default deny: each route answers each kind of
// visitor as the route table says, and nothing else gets through.
func TestRouteByRole(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	citizen := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	worker := a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker)
	const (
		ok       = http.StatusOK
		toSignIn = http.StatusSeeOther
		notFound = http.StatusNotFound
	)
	routes := []struct {
		path                      string
		anonymous, citizen, staff int
	}{
		{"/", ok, ok, ok},
		{"/help", ok, ok, ok},
		{"/privacy", ok, ok, ok},
		{"/terms", ok, ok, ok},
		{"/cookies", ok, ok, ok},
		{"/accessibility", ok, ok, ok},
		{"/healthz", ok, ok, ok},
		{"/readyz", ok, ok, ok},
		{"/session/status", ok, ok, ok},
		{"/signed-out", ok, ok, ok},
		{"/sign-in", ok, toSignIn, toSignIn},               // signed in already: on to the account
		{"/sign-in/confirm", toSignIn, toSignIn, toSignIn}, // only between the password and the phone
		{"/sign-up", ok, ok, ok},
		{"/forgot-password", ok, ok, ok},
		{"/static/css/app.css", ok, ok, ok},
		{"/dev/outbox.json", ok, ok, ok}, // development only; see TestDevOutboxIsDevelopmentOnly
		{"/account", toSignIn, ok, ok},
		{"/profile", toSignIn, ok, ok},
		{"/profile/email", toSignIn, ok, ok},
		{"/profile/email/new", toSignIn, toSignIn, toSignIn}, // only after a fresh phone check
		{"/terms/accept", toSignIn, ok, ok},
		{"/account/setup", toSignIn, ok, ok},
		{"/invitations/accept", ok, ok, ok},
		{"/invitations/accept?token=forged", toSignIn, toSignIn, toSignIn}, // to the page without the token
		{"/staff/records", toSignIn, notFound, notFound},                   // this worker has no team: no team pages (see access tests)
		{"/staff/activations", toSignIn, notFound, notFound},               // likewise
		{"/staff", toSignIn, notFound, ok},
		{"/staff/", toSignIn, notFound, ok},
		{"/staff/anything", toSignIn, notFound, notFound},
		{"/staff/admin", toSignIn, notFound, notFound}, // portal admins only: see staff.TestAdminRoutesByRole
		{"/staff/admin/people", toSignIn, notFound, notFound},
		{"/records/1", toSignIn, notFound, notFound},
		{"/records/1/documents", toSignIn, notFound, notFound},
		{"/records/1/documents/1", toSignIn, notFound, notFound},
		{"/staff/records/1/documents/new", toSignIn, notFound, notFound},
		{"/staff/records/1/documents/1", toSignIn, notFound, notFound},
		{"/staff/records/1/documents/1/withdraw", toSignIn, notFound, notFound},
		{"/records/1/forms", toSignIn, notFound, notFound},
		{"/records/1/forms/1", toSignIn, notFound, notFound},
		{"/records/1/forms/1/pages/1", toSignIn, notFound, notFound},
		{"/records/1/forms/1/check", toSignIn, notFound, notFound},
		{"/records/1/forms/1/confirm", toSignIn, notFound, notFound},
		{"/staff/records/1/forms/new", toSignIn, notFound, notFound},
		{"/staff/records/1/forms/1", toSignIn, notFound, notFound},
		{"/no-such-page", toSignIn, notFound, notFound},
	}
	for _, r := range routes {
		for _, v := range []struct {
			role   string
			person *accounts.Person
			want   int
		}{{"anonymous", nil, r.anonymous}, {"citizen", citizen, r.citizen}, {"staff", worker, r.staff}} {
			t.Run("path="+r.path+" role="+v.role, func(t *testing.T) {
				c := a.Client(t)
				if v.person != nil {
					a.SignIn(t, c, v.person)
				}
				if got := c.Get(r.path).StatusCode; got != v.want {
					t.Fatalf("status %d, want %d", got, v.want)
				}
			})
		}
	}
}

func TestDevOutboxIsDevelopmentOnly(t *testing.T) {
	for _, env := range []string{config.Test, config.Production} {
		t.Run("env="+env, func(t *testing.T) {
			a := apptest.NewApp(t, apptest.Options{Env: env})
			c := a.Client(t)
			a.SignIn(t, c, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin))
			for _, path := range []string{"/dev/outbox", "/dev/outbox.json"} {
				if got := c.Get(path).StatusCode; got != http.StatusNotFound {
					t.Errorf("%s = %d in %s, want 404", path, got, env)
				}
			}
		})
	}
}

func TestTheStaffViewHasItsNavigation(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	a.SignIn(t, c, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker))
	if c.Get("/staff").Doc.Find(".app-staff-nav").Length() != 1 {
		t.Fatal("the staff layout lacks the staff navigation")
	}
	if c.Get("/account").Doc.Find(".app-staff-nav").Length() != 0 {
		t.Fatal("a signed-in page outside the staff view shows the staff navigation")
	}
}
