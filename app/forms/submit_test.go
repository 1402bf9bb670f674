package forms_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"

	"portal/app/access"
	"portal/app/apptest"
)

// pdfText is the text of a PDF, page after page.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a PDF: %v", err)
	}
	var out strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		for _, txt := range r.Page(i).Content().Text {
			out.WriteString(txt.S)
		}
		out.WriteString("\n")
	}
	return out.String()
}

func TestASubmittedContributionMovesToItemsToViewAsAPDF(t *testing.T) {
	w := newWorld(t)
	a := w.a
	path := w.send(t, "review_contribution", w.ellie, w.mum)
	pages := []url.Values{
		{"your_name": {"Siân Example"}, "relationship": {"Mam"}, "attending": {"yes"}, "taking_part": {"in_person"}},
		{"gone_well": {"Ellie has settled well at school and sees her nain every Sunday."}},
		{"next": {"I would like Ellie to stay at her school and see her brother more often."}},
	}
	page := w.mumC.Get(path + "/pages/1")
	for i, answers := range pages {
		action := "continue"
		if i == len(pages)-1 {
			if page.Doc.Find(`button[value="submit"]`).Text() != a.T("forms.submit.contribution") {
				t.Fatalf("the last page has no %q button", a.T("forms.submit.contribution"))
			}
			action = "submit"
		}
		res := post(w.mumC, page, action, answers)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("page %d = %d: %s", i+1, res.StatusCode, res.Text(".govuk-error-summary"))
		}
		page = w.mumC.Get(res.Header.Get("Location"))
	}
	if page.Request.URL.Path != path+"/confirm" || page.Text("h1") != a.T("forms.confirm.title") {
		t.Fatalf("Submit Contribution led to %s %q, want the confirmation step", page.Request.URL.Path, page.Text("h1"))
	}
	res := w.mumC.PostForm(path+"/confirm", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != records_(w.ellie)+"/documents" {
		t.Fatalf("Confirm = %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	if list := w.mumC.Get(records_(w.ellie) + "/forms"); !strings.Contains(list.Body, a.T("records.forms.none")) {
		t.Error("the submitted form is still in Items to complete")
	}
	view := w.mumC.Get(records_(w.ellie) + "/documents")
	link := view.Doc.Find(".app-items__link")
	href, _ := link.Attr("href")
	if !strings.Contains(link.Text(), "Parent/carer contribution to a review") ||
		!strings.Contains(view.Text(".app-items__meta"), a.T("documents.kind.completed_form")) {
		t.Fatalf("Items to view: %q", view.Text(".app-items"))
	}
	file := w.mumC.Get(href)
	if file.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("the copy is %q", file.Header.Get("Content-Type"))
	}
	if cd := file.Header.Get("Content-Disposition"); !strings.Contains(cd, "Parent-carer%20contribution%20to%20a%20review.pdf") {
		t.Errorf("the copy downloads as %q, want the whole title", cd)
	}
	text := pdfText(t, []byte(file.Body))
	for _, want := range []string{"Parent/carer contribution to a review", "Siân Example", "Mam",
		"sees her nain every Sunday", "see her brother more often", "Submitted by"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	mail := a.LastSent(t, "email", w.mum.Email)
	if mail.Subject != a.T("email_form_received.subject") || strings.Contains(mail.Body, "Ellie") || strings.Contains(mail.Body, "Siân") {
		t.Errorf("the receipt: %q\n%s", mail.Subject, mail.Body)
	}

	// A submitted form cannot be changed.
	for name, res := range map[string]*apptest.Response{
		"its page":           w.mumC.Get(path + "/pages/1"),
		"a save":             w.mumC.PostForm(path+"/pages/1", url.Values{"action": {"save"}, "revision": {"99"}, "your_name": {"Changed"}}),
		"Check your answers": w.mumC.Get(path + "/check"),
	} {
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s after submitting = %d, want 404", name, res.StatusCode)
		}
	}
	// Confirm again (its first answer lost, say) changes nothing either: it
	// is answered as the first was.
	var copies int
	a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&copies)
	if res := w.mumC.PostForm(path+"/confirm", nil); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/records/"+strconv.FormatInt(w.ellie.ID, 10)+"/documents" {
		t.Errorf("Confirm again after submitting = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var after int
	a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&after)
	if after != copies {
		t.Errorf("Confirm again made %d more copies", after-copies)
	}
	worker := a.Client(t)
	a.SignIn(t, worker, w.worker)
	record := worker.Get("/staff/records/" + strconv.FormatInt(w.ellie.ID, 10))
	if got := record.Text("#forms + table"); !strings.Contains(got, a.T("staff.form.status_submitted")) {
		t.Errorf("the worker does not see the submission: %q", got)
	}
	show, _ := record.Doc.Find(`#forms + table a[href*="/forms/"]`).Attr("href")
	read := worker.Get(show)
	if read.StatusCode != http.StatusOK || !strings.Contains(read.Text(".govuk-summary-list"), "sees her nain every Sunday") ||
		read.Doc.Find("button[data-print]").Length() != 1 {
		t.Fatalf("the worker's view of the submission = %d: %q", read.StatusCode, read.Text("main"))
	}
	pdfLink, _ := read.Doc.Find(`a[download]`).Attr("href")
	if res := worker.Get(pdfLink); res.StatusCode != http.StatusOK || !strings.Contains(pdfText(t, []byte(res.Body)), "Siân Example") {
		t.Errorf("the worker's PDF = %d", res.StatusCode)
	}
	unsent := w.send(t, "review_contribution", w.ellie, w.dad)
	if res := worker.Get("/staff/records/" + strconv.FormatInt(w.ellie.ID, 10) + "/forms/" + unsent[strings.LastIndex(unsent, "/")+1:]); res.StatusCode != http.StatusNotFound {
		t.Errorf("a form not yet submitted shows to the worker: %d", res.StatusCode)
	}
	stranger := a.Client(t)
	a.SignIn(t, stranger, a.NewWorker(t, "elsewhere@example.org", a.NewTeam(t, "Another Team")))
	if res := stranger.Get(show); res.StatusCode != http.StatusNotFound {
		t.Errorf("another team's worker reads the submission: %d", res.StatusCode)
	}
}

func TestARecordingIsCheckedThenSubmittedWithConfirm(t *testing.T) {
	w := newWorld(t)
	a := w.a
	carer := a.NewPerson(t, "carer@example.net", "citizen", "")
	a.Grant(t, carer, w.ellie, access.FosterCarer)
	c := a.Client(t)
	a.SignIn(t, c, carer)
	path := w.send(t, "foster_carer_recording", w.ellie, carer)
	page := c.Get(path + "/pages/1")
	res := post(c, page, "continue", url.Values{"event_date": {"2026-11-22"}, "event_time": {"16:30"},
		"children": {"Ellie"}, "category": {"health"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("page 1 = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	page = c.Get(res.Header.Get("Location"))
	narrative := strings.Repeat("Ellie said her ear hurt, so we went to the GP, who gave her drops. ", 700)[:45000]
	res = post(c, page, "continue", url.Values{"narrative": {narrative}, "worker_to_act": {"no"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path+"/check" {
		t.Fatalf("the last page = %d %q, want Check your answers", res.StatusCode, res.Header.Get("Location"))
	}
	check := c.Get(path + "/check")
	if !strings.Contains(check.Text(".govuk-summary-list"), "22 November 2026") || !strings.Contains(check.Body, "went to the GP") {
		t.Errorf("Check your answers: %q", check.Text(".govuk-summary-list"))
	}
	if res := c.PostForm(path+"/submit", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path+"/confirm" {
		t.Fatalf("Submit = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := c.PostForm(path+"/confirm", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Confirm = %d", res.StatusCode)
	}
	var kind string
	a.DB.Gorm.Raw(`SELECT d.kind FROM forms f JOIN documents d ON d.id = f.document_id WHERE f.id = ?`,
		path[strings.LastIndex(path, "/")+1:]).Scan(&kind)
	if kind != "completed_form" {
		t.Errorf("the submitted form's copy is %q", kind)
	}
}

func TestSubmitSendsAnIncompleteFormBackToItsFirstPageInError(t *testing.T) {
	w := newWorld(t)
	path := w.send(t, "review_contribution", w.ellie, w.mum)
	w.mumC.Get(path + "/check")
	res := w.mumC.PostForm(path+"/submit", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || res.Doc.Find(`.govuk-error-summary a[href="#your_name"]`).Length() == 0 {
		t.Fatalf("Submit with nothing answered = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	if res := w.mumC.PostForm(path+"/confirm", nil); res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/pages/1") {
		t.Errorf("Confirm with nothing answered = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestTheSubmittedPDFIsWordsInEitherLanguage: the PDF of a submitted form,
// made in the holder's language, shows words, never a message id (its
// "Page 1 of 1" once showed "forms.pdf.page_of").
func TestTheSubmittedPDFIsWordsInEitherLanguage(t *testing.T) {
	w := newWorld(t)
	a := w.a
	for _, lang := range []string{"en", "cy"} {
		t.Run("lang="+lang, func(t *testing.T) {
			path := w.send(t, "review_contribution", w.ellie, w.mum)
			w.mumC.Get("/?lang=" + lang)
			answers := url.Values{"your_name": {"Siân Example"}, "relationship": {"Mam"}, "attending": {"yes"}, "taking_part": {"in_person"},
				"gone_well": {"Ellie has settled well."}, "next": {"Stay at her school."}}
			page := w.mumC.Get(path + "/pages/1")
			for i := 0; i < 3; i++ {
				action := "continue"
				if i == 2 {
					action = "submit"
				}
				res := post(w.mumC, page, action, answers)
				page = w.mumC.Get(res.Header.Get("Location"))
			}
			w.mumC.PostForm(path+"/confirm", nil)
			view := w.mumC.Get(records_(w.ellie) + "/documents")
			href, _ := view.Doc.Find(".app-items__link").First().Attr("href")
			text := pdfText(t, []byte(w.mumC.Get(href).Body))
			if keys := apptest.MessageKeys(t, text); len(keys) > 0 {
				t.Errorf("the PDF shows message ids: %v\n%s", keys, text)
			}
			if want := a.Bundle.For(lang).T("forms.pdf.page_of", "Page", 1, "Count", 1); !strings.Contains(text, want) {
				t.Errorf("the PDF lacks %q:\n%s", want, text)
			}
		})
	}
}
