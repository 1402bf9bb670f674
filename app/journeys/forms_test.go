package journeys_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
)

// sendForm gives person a copy of template key on record, as a worker
// does from the record page, and returns the form's path.
func sendForm(t *testing.T, a *apptest.TestApp, key string, recordID, personID, by int64) string {
	t.Helper()
	latest, err := a.Forms.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range latest {
		if tpl.Key == key {
			sent, err := a.Forms.Send(context.Background(), a.DB.Gorm, tpl.ID, recordID, []int64{personID}, nil, by)
			if err != nil {
				t.Fatal(err)
			}
			return "/records/" + strconv.FormatInt(recordID, 10) + "/forms/" + strconv.FormatInt(sent[0].ID, 10)
		}
	}
	t.Fatalf("no template %q", key)
	return ""
}

// TestCompletingAContribution follows guide 000's "Opening saving and
// submitting forms": from the Items to complete tile, open the form, fill
// it in over three pages (progress shown), Save for later, come back, then
// Submit Contribution and Confirm; the completed copy is in Items to view.
func TestCompletingAContribution(t *testing.T) {
	a := newApp(t)
	f := newFamily(t, a)
	worker, ellie, mum := f.worker, f.ellie, f.mum
	path := sendForm(t, a, "review_contribution", ellie.ID, mum.ID, worker.ID)

	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, mum)
	b.Visit(a.URL + "/account")
	if got, want := b.Text("#count-forms"), a.T("records.count.forms", "N", 1); got != want {
		t.Errorf("the Items to complete tile says %q, want %q", got, want)
	}
	b.ClickAndWait(`.app-tile[href$="/forms"]`)
	b.Axe(t)
	b.ClickAndWait(`.app-items__link`)
	if !strings.Contains(b.Text(".govuk-caption-l"), a.T("forms.page.progress", "Page", 1, "Count", 3)) {
		t.Errorf("no progress on the first page: %q", b.Text(".govuk-caption-l"))
	}
	if !b.Visible(`button[data-print]`) {
		t.Error("a contribution's page offers no Print (guide 000: beside Save for later)")
	}
	// Continue with nothing answered: the error summary, focused, links to
	// each question.
	b.ClickAndWait(`button[value="continue"]`)
	b.Axe(t)
	var focused string
	b.Eval(`document.activeElement.closest('.govuk-error-summary') ? 'summary' : document.activeElement.tagName`, &focused)
	if focused != "summary" {
		t.Errorf("focus after an error is on %s, want the error summary", focused)
	}
	assertReflows(t, b)
	b.ClearLogs() // the 422 of that Continue, expected
	b.Fill("#your_name", "Siân Example")
	b.Fill("#relationship", "Mam")
	b.Click("#attending")
	b.Click("#taking_part")
	b.ClickAndWait(`button[value="later"]`)
	if b.Path() != "/records/"+strconv.FormatInt(ellie.ID, 10)+"/forms" || b.Text("#flash") == "" {
		t.Fatalf("Save for later led to %s without a message", b.Path())
	}
	b.ClickAndWait(`.app-items__link`)
	if got := b.Attr("#your_name", "value"); got != "Siân Example" {
		t.Fatalf("after Save for later the name is %q", got)
	}
	b.ClickAndWait(`button[value="continue"]`)
	b.Fill("#gone_well", "Ellie has settled well at school.")
	b.Axe(t) // the character count
	b.ClickAndWait(`button[value="continue"]`)
	b.Fill("#next", "I would like Ellie to see her brother more often.")
	if got := b.Text(`button[value="submit"]`); got != a.T("forms.submit.contribution") {
		t.Errorf("the last page's button is %q", got)
	}
	b.ClickAndWait(`button[value="submit"]`)
	if b.Path() != path+"/confirm" {
		t.Fatalf("Submit Contribution led to %s", b.Path())
	}
	b.Axe(t)
	b.ClickAndWait(`form[action$="/confirm"] button`)
	if !strings.HasSuffix(b.Path(), "/documents") || !strings.Contains(b.Text(".app-items"), "Parent/carer contribution to a review") {
		t.Fatalf("after Confirm: %s %q", b.Path(), b.Text("main"))
	}
	b.Axe(t)
	b.AssertClean()
}

// TestAFormSavesItselfBeforeAnIdleSignOut: text typed and never saved by a
// button is kept when the idle countdown signs the person out, and is
// there after they sign in again (guide 002's lost work cannot happen).
func TestAFormSavesItselfBeforeAnIdleSignOut(t *testing.T) {
	a := newApp(t)
	team := a.NewTeam(t, "Fostering Team")
	worker := a.NewWorker(t, "worker@example.org", team)
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, ellie, access.FosterCarer)
	path := sendForm(t, a, "foster_carer_recording", ellie.ID, carer.ID, worker.ID)

	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, carer)
	b.Visit(a.URL + path + "/pages/1")
	b.Fill("#children", "Ellie")
	// It saves itself a couple of seconds after typing stops.
	b.WaitFor(`document.getElementById('revision').value === '1'`, 10*time.Second)
	b.Visit(a.URL + path + "/pages/2")
	b.Axe(t)
	// The last words are in the field but not yet saved (as when typed a
	// moment before): set without an input event, so only the save before
	// signing out can keep them.
	b.Eval(`document.getElementById('narrative').value = 'At tea Ellie said she had been worried about the school trip.'`, nil)

	idleUntilSaved(t, a, b)
	if got := b.Attr("#revision", "value"); got != "2" {
		t.Errorf("after the save before signing out the revision is %q, want 2", got)
	}
	idle(a, b, 30*time.Second)
	b.WaitFor(`document.location.pathname === '/session/timeout' && document.readyState === 'complete'`, 15*time.Second)

	a.SignInBrowser(t, b, carer)
	b.Visit(a.URL + path)
	if b.Path() != path+"/pages/2" {
		t.Errorf("the form reopened on %s, want the page the carer was on", b.Path())
	}
	var text string
	b.Eval(`document.getElementById('narrative').value`, &text)
	if text != "At tea Ellie said she had been worried about the school trip." {
		t.Errorf("after the idle sign-out the narrative is %q", text)
	}
	b.Visit(a.URL + path + "/pages/1")
	if got := b.Attr("#children", "value"); got != "Ellie" {
		t.Errorf("page 1's autosaved answer is %q", got)
	}
}

// TestAButtonWaitsForTheSaveOnItsWay: on a slow line, an autosave is still
// on its way when the person presses Continue; the button goes after it,
// with the revision it made, so the page moves on instead of being refused
// as stale (409), and no save starts after the button.
func TestAButtonWaitsForTheSaveOnItsWay(t *testing.T) {
	a := newApp(t)
	f := newFamily(t, a)
	worker, ellie, mum := f.worker, f.ellie, f.mum
	path := sendForm(t, a, "review_contribution", ellie.ID, mum.ID, worker.ID)
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, mum)
	b.Visit(a.URL + path + "/pages/1")
	b.Fill("#your_name", "Siân Example")
	b.Fill("#relationship", "Mam")
	b.Click("#attending")
	b.Click("#taking_part")
	b.Throttle(2*time.Second, 400)
	b.Eval(`(() => { const f = document.querySelector('form[data-autosave]'); htmx.trigger(f, 'portal:autosave');
	  return f.classList.contains('htmx-request') })()`, nil)
	b.WaitFor(`document.querySelector('form[data-autosave]').classList.contains('htmx-request')`, 10*time.Second)
	b.Click(`button[value="continue"]`)
	b.WaitFor(`document.location.pathname.endsWith('/pages/2') && document.readyState === 'complete'`, 60*time.Second)
	b.Throttle(0, 0)
	if got := b.Text(".govuk-caption-l"); !strings.Contains(got, a.T("forms.page.progress", "Page", 2, "Count", 3)) {
		t.Errorf("Continue led to %q", got)
	}
}
