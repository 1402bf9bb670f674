package journeys_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/export"
)

// TestAPersonDownloadsTheirData: from My account, "Download my data" asks
// for it; once the job has made it the page offers the zip, which the
// browser downloads. Axe-clean and reflowing at 320 px.
func TestAPersonDownloadsTheirData(t *testing.T) {
	a := newApp(t)
	f := newFamily(t, a)
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, f.mum)
	// From Edit profile: a holder of one record goes from My account
	// straight to that record.
	b.Visit(a.URL + "/profile")
	b.ClickAndWait(`main a[href="/account/data"]`)
	b.Axe(t)
	assertReflows(t, b)
	b.ClickAndWait(`form[action="/account/data"] button`)
	if got := b.Text("#flash"); got == "" || !b.Exists(".govuk-inset-text") {
		t.Fatalf("after asking: flash %q, page %q", got, b.Text("main"))
	}
	if err := a.Queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Queue.Drain(context.Background(), export.Queue); err != nil {
		t.Fatal(err)
	}
	b.Reload()
	b.WaitVisible(`a[href$="/download"]`)
	b.Axe(t)
	var got struct {
		Status int
		Type   string
		Size   int
	}
	b.Eval(`(async () => { const r = await fetch(document.querySelector('a[href$="/download"]').href);
	  return {status: r.status, type: r.headers.get('Content-Type'), size: (await r.arrayBuffer()).byteLength} })()`, &got)
	if got.Status != http.StatusOK || got.Type != "application/zip" || got.Size < 100 {
		t.Errorf("the download = %+v", got)
	}
	b.AssertClean()
}

// TestAnAdminReadsTheOverviewAndSearchesTheTrail: the service overview and
// the audit search, as a portal admin sees them on a phone: axe-clean and
// reflowing at 320 px; a search finds the admin's own sign-in.
func TestAnAdminReadsTheOverviewAndSearchesTheTrail(t *testing.T) {
	a := newApp(t)
	newFamily(t, a)
	admin := a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, admin)
	b.Visit(a.URL + "/staff/admin")
	b.ClickAndWait(`a[href="/staff/admin/overview"]`)
	b.WaitVisible(`svg[role="img"]`)
	b.Axe(t)
	assertReflows(t, b)
	b.Visit(a.URL + "/staff/admin")
	b.ClickAndWait(`a[href="/staff/admin/audit"]`)
	b.Axe(t)
	b.Fill("#person", admin.Email) // their own sign-in, just now
	if status := b.ClickAndWait(`main form button[type="submit"]`); status != http.StatusOK {
		t.Fatalf("the search = %d: %q", status, b.Text("main"))
	}
	b.WaitFor(`document.querySelector('main table') !== null`, 5*time.Second)
	b.Axe(t)
	assertReflows(t, b)
	b.AssertClean()
}
