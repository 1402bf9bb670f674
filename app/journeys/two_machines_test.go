package journeys_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

// twoMachines is two app machines on one database behind a proxy that
// hands each request to the other machine from the last (issue 18).
func twoMachines(t *testing.T) (one, two *apptest.TestApp, proxy *apptest.Proxy) {
	one = newApp(t)
	two = apptest.NewApp(t, apptest.Options{DSN: one.DSN})
	return one, two, apptest.NewProxy(t, one, two)
}

// TestSigningInGoesOnAcrossMachines: the password on one machine, the
// texted code on the other, then the pages and a message, each request on
// the next machine: nothing a sign-in needs is kept on a machine.
func TestSigningInGoesOnAcrossMachines(t *testing.T) {
	one, two, proxy := twoMachines(t)
	f := newFamily(t, one)
	one.GivePhone(t, f.mum, "+447700900123", true)
	b := apptest.NewBrowser(t)
	b.Visit(proxy.URL + "/sign-in")
	b.Fill("#email", f.mum.Email)
	b.Fill("#password", apptest.Password)
	b.ClickAndWait(`form[action="/sign-in"] button`)
	if b.Path() != "/sign-in/confirm" {
		t.Fatalf("after the password: %s %q", b.Path(), b.Text(".govuk-error-summary"))
	}
	b.ClickAndWait(`form[action="/sign-in/confirm/send"] button`)
	typeTextedCode(t, two, b) // the code's page sends it once it is typed (code.js)
	b.WaitFor(`location.pathname.startsWith("/records/") || location.pathname === "/account"`, 10*time.Second)
	for _, path := range []string{"/account", "/profile", "/account/recordings"} {
		if status := b.Visit(proxy.URL + path); status != http.StatusOK {
			t.Errorf("%s through the proxy = %d (%s)", path, status, b.Path())
		}
	}
	if proxy.Served(0) < 5 || proxy.Served(1) < 5 {
		t.Fatalf("the machines served %d and %d requests: the journey did not alternate", proxy.Served(0), proxy.Served(1))
	}
	b.AssertClean()
}

// TestLockoutCountsOnEveryMachine: ten wrong passwords, alternating between
// the machines, lock the account on both for the hour.
func TestLockoutCountsOnEveryMachine(t *testing.T) {
	one, two, proxy := twoMachines(t)
	one.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := proxy.Client(t)
	c.Get("/sign-in")
	try := func(c *apptest.Client, password string) *apptest.Response {
		return c.PostForm("/sign-in", url.Values{"email": {"parent@example.net"}, "password": {password}})
	}
	for i := 1; i <= 9; i++ {
		if res := try(c, "wrong"); res.StatusCode != http.StatusUnprocessableEntity || strings.Contains(res.Body, "try again after") {
			t.Fatalf("failure %d = %d, locked already", i, res.StatusCode)
		}
	}
	try(c, "wrong")
	locked := one.T("auth.sign_in.error_locked", "Time", "10:00")
	for name, m := range map[string]*apptest.TestApp{"one": one, "two": two} {
		direct := m.Client(t)
		direct.Get("/sign-in")
		if res := try(direct, apptest.Password); !strings.Contains(res.Text(".govuk-error-summary"), locked) {
			t.Errorf("machine %s lets the right password through after ten failures across both: %d %q", name, res.StatusCode,
				res.Text(".govuk-error-summary"))
		}
	}
}
