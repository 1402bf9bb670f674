package resilience_test

import (
	"strings"
	"testing"
	"time"

	"portal/app/apptest"
)

// TestWorkTypedWhileTheDatabaseIsDownIsKept is issue 18's database point
// in Chromium: the database crashes while mum has a form page and a new
// message open.
//   - What she types on the form is saved by itself a little later, when
//     the database is back: meanwhile the page says the service is having
//     a problem and her work is kept on it; Continue keeps her on the page
//     rather than leading to an error; once saved, the page says so.
//   - The message she sends meanwhile waits on the page (offline.js, its
//     words sealed on the device) and is sent when the database is back.
func TestWorkTypedWhileTheDatabaseIsDownIsKept(t *testing.T) {
	f := newFamily(t)
	a := f.a
	path := f.formFor(t, "review_contribution")
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, f.mum)
	down, saved := a.T("errors.database.body"), a.T("layout.js.saved")

	t.Run("a form page", func(t *testing.T) {
		b := b.For(t)
		b.Visit(a.URL + path + "/pages/1")
		b.Fill("#your_name", "Siân Example")
		b.WaitFor(`document.getElementById('revision').value === '1'`, 10*time.Second)

		apptest.CrashPostgres(t)
		b.Fill("#relationship", "Mam")
		b.WaitFor(`document.getElementById('flash').textContent.includes(`+jsString(down)+`)`, 15*time.Second)
		b.Click(`button[value="continue"]`)
		b.WaitFor(`document.activeElement && document.activeElement.closest('#flash') !== null`, 5*time.Second)
		if p := b.Path(); p != path+"/pages/1" {
			t.Fatalf("Continue while the database is down led to %s", p)
		}
		var got string
		b.Eval(`document.getElementById('relationship').value`, &got)
		if got != "Mam" {
			t.Errorf("the page lost what was typed: %q", got)
		}

		apptest.StartPostgres(t)
		b.WaitFor(`document.getElementById('flash').textContent.includes(`+jsString(saved)+`)`, time.Minute)
		b.Visit(a.URL + path + "/pages/1")
		if name, rel := b.Attr("#your_name", "value"), b.Attr("#relationship", "value"); name != "Siân Example" || rel != "Mam" {
			t.Errorf("after the outage the page holds %q and %q", name, rel)
		}
	})

	t.Run("a new message", func(t *testing.T) {
		b := b.For(t)
		b.Visit(a.URL + f.record() + "/messages/new")
		b.Eval(`(() => { const s = document.getElementById('type'); s.value = `+jsString(itoa(f.toWorker.ID))+`; s.dispatchEvent(new Event('change', {bubbles: true})) })()`, nil)
		b.WaitFor(`document.getElementById('subject-hint') !== null && !document.querySelector('.htmx-request')`, 10*time.Second)
		msgs := f.count(t, "messages")

		apptest.CrashPostgres(t)
		b.Fill("#subject", "Contact on Saturday")
		b.Fill("#body", "Can Ellie see her nan on Saturday?")
		b.Click(`button[value="send"]`)
		b.WaitFor(`document.getElementById('flash').textContent.includes(`+jsString(down)+`)`, 15*time.Second)
		if p := b.Path(); p != f.record()+"/messages/new" {
			t.Fatalf("Send while the database is down led to %s", p)
		}

		apptest.StartPostgres(t)
		b.WaitFor(`/\/messages\/\d+$/.test(location.pathname)`, time.Minute)
		if !strings.Contains(b.Text("main"), "Can Ellie see her nan on Saturday?") {
			t.Errorf("the thread shows %q", b.Text("main"))
		}
		if n := f.count(t, "messages"); n != msgs+1 {
			t.Errorf("%d messages, want %d: sent once", n, msgs+1)
		}
	})
	// The 503s of the outage are expected; nothing else.
	b.AssertCleanExcept("503")
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
