package journeys_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/uploads/uploadtest"
)

// TestSendingAndViewingADocument follows guide 000's "Viewing a document"
// with the worker's side first: the worker sends an assessment to both of a
// record's holders from the staff view (progress shown, "Select everyone"),
// then a parent signs in, sees the count on the Items to view tile, finds
// the document in bold, selects it and it downloads; it is then opened, for
// the parent and on the worker's page.
func TestSendingAndViewingADocument(t *testing.T) {
	a := newApp(t)
	f := newFamily(t, a)
	worker, ellie, mum := f.worker, f.ellie, f.mum
	dad := a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	a.Grant(t, dad, ellie, access.Parent)
	record := "/staff/records/" + strconv.FormatInt(ellie.ID, 10)

	dir := t.TempDir()
	file := uploadtest.PDF(2<<20, "")
	upload := filepath.Join(dir, "Child and family assessment.pdf")
	if err := os.WriteFile(upload, file, 0o600); err != nil {
		t.Fatal(err)
	}

	staff := apptest.NewBrowser(t)
	a.SignInBrowser(t, staff, worker)
	staff.Visit(a.URL + record)
	staff.ClickAndWait(`a[href$="/documents/new"]`)
	staff.Axe(t)
	assertReflows(t, staff)
	if staff.Exists(`input[name="recipients"]:checked`) {
		t.Fatal("a recipient is ticked before the worker chose one")
	}
	staff.Fill("#title", "Child and family assessment")
	staff.Click("#kind")
	staff.Click(`button[data-select-all]`)
	var ticked int
	staff.Eval(`document.querySelectorAll('input[name="recipients"]:checked').length`, &ticked)
	if ticked != 2 {
		t.Fatalf("Select everyone ticked %d of 2", ticked)
	}
	staff.SetFiles("#file", upload)
	// The progress bar's value is kept across the redirect that follows.
	staff.Eval(`document.querySelector('form[data-upload]').addEventListener('htmx:xhr:progress', () =>
	  sessionStorage.setItem('progress', document.getElementById('upload-progress').value))`, nil)
	staff.Click(`form[data-upload] button[type="submit"]`)
	staff.WaitFor(`location.hash.startsWith('#document-') && document.querySelector('#flash .govuk-notification-banner') !== null`, 20*time.Second)
	var progress, card string
	staff.Eval(`sessionStorage.getItem('progress') || ''`, &progress)
	staff.Eval(`location.hash`, &card) // "#document-N": the assessment's card on the record page
	if p, _ := strconv.Atoi(progress); p <= 0 {
		t.Errorf("the progress bar never moved (%q)", progress)
	}
	staff.Axe(t)

	for _, p := range []*accounts.Person{mum, dad} {
		mail := a.LastSent(t, "email", p.Email)
		if mail.Subject != tr(t, a.T, "email_new_document.subject") || strings.Contains(mail.Body, "Ellie") {
			t.Errorf("the email to %s: %q", p.Email, mail.Subject)
		}
	}

	parent := apptest.NewBrowser(t)
	a.SignInBrowser(t, parent, mum)
	downloads := t.TempDir()
	parent.AllowDownloads(downloads)
	parent.Visit(a.URL + "/account") // one record: straight to its dashboard
	if got, want := parent.Text("#count-documents"), a.T("records.count.documents", "N", 1); got != want {
		t.Errorf("the Items to view tile says %q, want %q", got, want)
	}
	parent.Axe(t)
	parent.ClickAndWait(`.app-tile[href$="/documents"]`)
	parent.Axe(t)
	assertReflows(t, parent)
	var weight string
	parent.Eval(`getComputedStyle(document.querySelector('.app-items__link')).fontWeight`, &weight)
	if weight != "700" {
		t.Errorf("the unopened document is not bold (font-weight %s)", weight)
	}
	if label := parent.Text(".app-items__link"); !strings.Contains(label, tr(t, a.T, "documents.list.unopened")) {
		t.Errorf("a screen reader is not told the document is unopened: %q", label)
	}
	parent.Click(".app-items__link")
	saved := filepath.Join(downloads, "Child and family assessment.pdf")
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := os.ReadFile(saved)
		if err == nil && bytes.Equal(got, file) {
			break
		}
		if time.Now().After(deadline) {
			names, _ := os.ReadDir(downloads)
			t.Fatalf("the document did not download intact: %v (in the folder: %v)", err, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
	parent.Reload()
	if parent.Exists(".app-items__item--new") {
		t.Error("the document is still shown unopened after downloading it")
	}
	if !strings.Contains(parent.Text(".app-items"), a.T("documents.list.opened_by_you", "Date", "23 November 2026, 09:00")) {
		t.Errorf("no 'opened by you': %q", parent.Text(".app-items"))
	}

	// Without JavaScript: the same form posts as a plain multipart form.
	staff.NoScript(true)
	staff.Visit(a.URL + record + "/documents/new")
	if staff.Visible(`button[data-select-all]`) {
		t.Error("Select everyone shows without JavaScript, where it cannot work")
	}
	staff.Fill("#title", "Letter about the review")
	staff.Click("#kind-letter")
	staff.Click(`input[name="recipients"]`)
	staff.SetFiles("#file", upload)
	if status := staff.ClickAndWait(`form[data-upload] button[type="submit"]`); status != 200 || staff.Path() != record {
		t.Fatalf("the upload without JavaScript ended on %s (%d)", staff.Path(), status)
	}
	staff.NoScript(false)

	staff.Visit(a.URL + record)
	opens := staff.Text(card)
	if !strings.Contains(opens, a.T("staff.document.opened_at", "Date", "23 November 2026, 09:00")) ||
		!strings.Contains(opens, a.T("staff.document.not_opened")) {
		t.Errorf("the worker does not see who opened it: %q", opens)
	}
}
