package journeys_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/records"
	"portal/app/web"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// footerPages are the pages every public-sector service links from its
// footer, by path and the message id of the link.
var footerPages = []struct{ path, link string }{
	{"/help", "layout.footer.help"},
	{"/privacy", "layout.footer.privacy"},
	{"/terms", "layout.footer.terms"},
	{"/cookies", "layout.footer.cookies"},
	{"/accessibility", "layout.footer.accessibility"},
}

// assertReflows fails t if the page scrolls sideways at 320 px (WCAG 1.4.10),
// and puts the phone size back.
func assertReflows(t *testing.T, b *apptest.Browser) {
	t.Helper()
	b.Narrow()
	defer b.Phone()
	var scroll int
	b.Eval(`document.documentElement.scrollWidth`, &scroll)
	if scroll > apptest.NarrowWidth {
		var wide []string
		b.Eval(`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 320.5)
		  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
		    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''))`, &wide)
		t.Errorf("%s scrolls sideways at 320 px: scrollWidth %d (widest elements: %v)", b.Path(), scroll, wide)
	}
}

func TestPublicPagesWorkOnAPhoneAndPassAxe(t *testing.T) {
	a := newApp(t)
	b := apptest.NewBrowser(t)

	if status := b.Visit(a.URL + "/"); status != http.StatusOK {
		t.Fatalf("home page: status %d", status)
	}
	if got, want := b.Text("main h1"), tr(t, a.T, "service.name"); got != want {
		t.Errorf("home page heading = %q, want the service name %q", got, want)
	}
	for _, p := range footerPages {
		sel := `footer a[href="` + p.path + `"]`
		if !b.Exists(sel) {
			t.Errorf("footer has no link to %s", p.path)
			continue
		}
		if got, want := b.Text(sel), tr(t, a.T, p.link); got != want {
			t.Errorf("footer link to %s reads %q, want %q", p.path, got, want)
		}
	}
	b.Axe(t)
	assertReflows(t, b)

	for _, p := range footerPages {
		t.Run(strings.TrimPrefix(p.path, "/"), func(t *testing.T) {
			b := b.For(t)
			if !b.Exists(`footer a[href="` + p.path + `"]`) {
				b.Visit(a.URL + "/")
			}
			if status := b.ClickAndWait(`footer a[href="` + p.path + `"]`); status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if got := b.Path(); got != p.path {
				t.Fatalf("the footer link led to %s", got)
			}
			if b.Text("main h1") == "" {
				t.Error("the page has no heading")
			}
			b.Axe(t)
			assertReflows(t, b)
		})
	}
	b.AssertClean()
}

func TestLanguageChoiceShowsWelshAndSticks(t *testing.T) {
	a := newApp(t)
	b := apptest.NewBrowser(t)
	cy := a.Bundle.For("cy")

	b.Visit(a.URL + "/")
	if lang := b.Attr("html", "lang"); lang != "en" {
		t.Fatalf("a browser asking for English got lang=%q", lang)
	}
	link := `footer a[hreflang="cy"]`
	if got := b.Text(link); got != "Cymraeg" {
		t.Fatalf("the language link reads %q, want Cymraeg", got)
	}
	b.ClickAndWait(link)
	if lang := b.Attr("html", "lang"); lang != "cy" {
		t.Fatalf("after choosing Cymraeg, lang=%q", lang)
	}
	if got, want := b.Text("main h1"), tr(t, cy.T, "service.name"); got != want || want == a.T("service.name") {
		t.Errorf("Welsh home page heading = %q, want the Welsh %q (English %q)", got, want, a.T("service.name"))
	}

	// The choice sticks on the next page, reached by an ordinary link.
	b.ClickAndWait(`footer a[href="/help"]`)
	if lang := b.Attr("html", "lang"); lang != "cy" {
		t.Errorf("the next page forgot the choice: lang=%q", lang)
	}
	if got, want := b.Text("main h1"), tr(t, cy.T, "pages.help.title"); got != want || want == a.T("pages.help.title") {
		t.Errorf("help page heading = %q, want the Welsh %q", got, want)
	}
	if got, want := b.Text(`footer a[href="/help"]`), tr(t, cy.T, "layout.footer.help"); got != want {
		t.Errorf("footer link reads %q, want the Welsh %q", got, want)
	}
	if got := b.Attr(`footer a[hreflang="cy"]`, "aria-current"); got != "true" {
		t.Errorf(`the current language's link has aria-current=%q, want "true"`, got)
	}
	b.Axe(t)
	b.AssertClean()
}

// idle moves both clocks by d with nothing done: the server's, and the
// browser's (a page load is activity, so the browser must see the time pass
// on the page it shows, as a person's phone would).
func idle(a *apptest.TestApp, b *apptest.Browser, d time.Duration) {
	a.Clock.Advance(d)
	b.AdvanceClock(d)
}

// idleUntilSaved leaves the page idle until 25 seconds are left, when the
// countdown saves the drafts, and waits until every save has answered
// (idle.js marks <html>): only then may a test move the clocks past the
// end. It waits for that event, not for time.
func idleUntilSaved(t *testing.T, a *apptest.TestApp, b *apptest.Browser) {
	t.Helper()
	idle(a, b, web.IdleTimeout-25*time.Second)
	b.WaitFor(`document.documentElement.hasAttribute('data-portal-drafts-saved')`, 30*time.Second)
}

func TestIdleCountdownWarnsAndStaySignedInExtends(t *testing.T) {
	a := newApp(t)
	b := apptest.NewBrowser(t)
	person := a.NewPerson(t, "citizen@example.org", accounts.RoleCitizen, "")
	a.SignInBrowser(t, b, person)

	if status := b.Visit(a.URL + "/account"); status != http.StatusOK || b.Path() != "/account" {
		t.Fatalf("signed in, /account gave status %d at %s", status, b.Path())
	}
	if got := b.Attr("#idle-banner", "data-remaining"); got != "900" {
		t.Fatalf("a fresh page has data-remaining=%q, want 900", got)
	}
	if b.Visible("#idle-panel") {
		t.Fatal("the countdown shows on a fresh page")
	}

	// Minute 10 and 10 seconds without activity: 290 s left, inside the
	// 5-minute warning.
	idle(a, b, 10*time.Minute+10*time.Second)
	b.WaitVisible("#idle-panel")
	if got, want := b.Text("#idle-heading"), tr(t, a.T, "idle.heading"); got != want {
		t.Errorf("banner heading = %q, want %q", got, want)
	}
	countdown := b.Text("#idle-countdown")
	before, after, _ := strings.Cut(tr(t, a.T, "idle.countdown"), "{time}")
	if !strings.HasPrefix(countdown, before) || !strings.HasSuffix(countdown, after) ||
		!strings.Contains(countdown, "4 minutes") {
		t.Errorf("countdown reads %q, want %q with about 4 minutes 50 seconds", countdown, tr(t, a.T, "idle.countdown"))
	}
	var focused string
	b.Eval(`document.activeElement ? document.activeElement.id : ''`, &focused)
	if focused != "idle-heading" {
		t.Errorf("focus is on %q, want the banner's heading", focused)
	}
	if got := b.Attr("#idle-live", "aria-live"); got != "assertive" {
		t.Errorf("the live region is aria-live=%q, want assertive", got)
	}
	b.WaitFor(`document.getElementById('idle-live').textContent.includes(`+jsString(tr(t, a.T, "idle.hint"))+`)`,
		3*time.Second)
	if live := b.Text("#idle-live"); !strings.HasPrefix(live, before) {
		t.Errorf("the live region announced %q, want the countdown", live)
	}
	b.Axe(t) // the page with the banner open

	b.Click("#idle-stay")
	b.WaitNotVisible("#idle-panel")
	b.WaitFor(`document.getElementById('idle-live').textContent === `+jsString(tr(t, a.T, "idle.extended")), 3*time.Second)
	if got := sessionStatus(b); !got.SignedIn || got.Remaining != 900 {
		t.Errorf("after Stay signed in, /session/status = %+v, want signed in with 900 s left", got)
	}
	b.AssertClean()

	// 15 minutes and a second with nothing done (the page closed meanwhile):
	// the account now leads to the timeout page.
	a.Clock.Advance(15*time.Minute + time.Second)
	b.Visit(a.URL + "/account")
	if got := b.Path(); got != "/session/timeout" {
		t.Fatalf("after the idle timeout, /account led to %s, want /session/timeout", got)
	}
	if got, want := b.Text("main h1"), tr(t, a.T, "auth.timed_out.title"); got != want {
		t.Errorf("timeout page heading = %q, want %q", got, want)
	}
	if b.Exists("#idle-banner") {
		t.Error("the timeout page still has the idle banner: the session was not ended")
	}
}

func TestIdleCountdownAnnouncesSignOutThenSignsOut(t *testing.T) {
	a := newApp(t)
	b := apptest.NewBrowser(t)
	person := a.NewPerson(t, "citizen@example.org", accounts.RoleCitizen, "")
	a.SignInBrowser(t, b, person)
	b.RecordEvents("portal:before-signout")
	b.Visit(a.URL + "/account")

	// 14:35 idle: 25 s left, within the last 30 s, when drafts get saved.
	idle(a, b, 14*time.Minute+35*time.Second)
	b.WaitVisible("#idle-panel")
	ev := b.WaitForEvent("portal:before-signout", 5*time.Second)
	if !strings.HasSuffix(ev.Page, "/account") {
		t.Errorf("portal:before-signout fired on %s", ev.Page)
	}
	if !b.Exists("html[data-portal-signing-out]") {
		t.Error("<html> is not marked data-portal-signing-out while drafts are saved")
	}
	if p := b.Path(); p != "/account" {
		t.Fatalf("the page left for %s before the countdown ended", p)
	}

	// Nothing to save on this page: the saves are over at once. Both
	// clocks pass the deadline: at its next tick the page asks the server,
	// which has ended the session, and goes to the timeout page.
	b.WaitFor(`document.documentElement.hasAttribute('data-portal-drafts-saved')`, 10*time.Second)
	if b.Visible("#idle-saved") {
		t.Error("the countdown says a draft was saved on a page without one")
	}
	idle(a, b, 30*time.Second)
	b.WaitFor(`document.location.pathname === '/session/timeout' && document.readyState === 'complete'`,
		10*time.Second)
	if got, want := b.Text("main h1"), tr(t, a.T, "auth.timed_out.title"); got != want {
		t.Errorf("timeout page heading = %q, want %q", got, want)
	}
	if n := len(b.Events()); n != 1 {
		t.Errorf("portal:before-signout fired %d times, want once: %v", n, b.Events())
	}
	if sessionStatus(b).SignedIn {
		t.Error("after the timeout page, the session is still signed in")
	}
	b.AssertClean()
}

type status struct {
	SignedIn  bool `json:"signed_in"`
	Remaining int  `json:"remaining"`
}

// sessionStatus asks the server, as the countdown does (passively).
func sessionStatus(b *apptest.Browser) status {
	var s status
	b.Eval(`fetch('/session/status', {headers: {'X-Portal-Passive': '1'}}).then(r => r.json())`, &s)
	return s
}

func TestSignedInAndStaffLayoutsPassAxe(t *testing.T) {
	a := newApp(t)

	t.Run("citizen account", func(t *testing.T) {
		b := apptest.NewBrowser(t)
		a.SignInBrowser(t, b, a.NewPerson(t, "citizen@example.org", accounts.RoleCitizen, ""))
		if status := b.Visit(a.URL + "/account"); status != http.StatusOK || b.Path() != "/account" {
			t.Fatalf("/account: status %d at %s", status, b.Path())
		}
		b.Axe(t)
		assertReflows(t, b)
		b.AssertClean()
	})

	t.Run("staff home", func(t *testing.T) {
		b := apptest.NewBrowser(t)
		a.SignInBrowser(t, b, a.NewPerson(t, "w@example.org", accounts.RoleStaff, accounts.StaffWorker))
		if status := b.Visit(a.URL + "/staff"); status != http.StatusOK || b.Path() != "/staff" {
			t.Fatalf("/staff: status %d at %s", status, b.Path())
		}
		b.Axe(t)
		assertReflows(t, b)
		b.AssertClean()
	})
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

// tr is the text of message id, failing t when the message is missing (the
// portal would show the id itself, and a test comparing the two would pass).
func tr(t *testing.T, translate func(string, ...any) string, id string) string {
	t.Helper()
	s := translate(id)
	if s == id {
		t.Errorf("message %q is missing from locales/", id)
	}
	return s
}

// newApp starts the portal for one journey.
func newApp(t *testing.T) *apptest.TestApp { return apptest.NewApp(t, apptest.Options{}) }

// family is the usual world of a journey: the North Locality Team, its
// worker, Ellie Smith's record, and her mum, who holds it as a parent.
type family struct {
	team        *records.Team
	worker, mum *accounts.Person
	ellie       *records.Record
}

func newFamily(t *testing.T, a *apptest.TestApp) family {
	t.Helper()
	f := family{team: a.NewTeam(t, "North Locality Team")}
	f.worker = a.NewWorker(t, "worker@example.org", f.team)
	f.ellie = a.NewRecord(t, f.team, "Ellie", "Smith")
	f.mum = a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, f.mum, f.ellie, access.Parent)
	return f
}
