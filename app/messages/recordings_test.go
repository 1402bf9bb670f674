package messages_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/config"
	"portal/app/messages"
)

// TestACarerKeepsTheirOwnCopyOfEveryRecording: "Recordings I have sent"
// lists the carer's recordings (and nobody else's) with a PDF and their
// files each; it stays after the placement ends for RECORDINGS_KEPT_DAYS,
// and goes when access is ended at once.
func TestACarerKeepsTheirOwnCopyOfEveryRecording(t *testing.T) {
	w := newWorld(t, apptest.Options{Configure: func(c *config.Config) { c.RecordingsKept = 30 }})
	a := w.a
	fostering := a.NewTeam(t, "Fostering Team")
	a.NewWorker(t, "supervisor@example.org", fostering)
	key := messages.RecordingForm
	recording := &messages.Type{NameEN: "Foster carer recording", NameCY: "Cofnod gofalwr maeth", TeamID: fostering.ID, FormKey: &key, Active: true}
	if err := w.store.SaveType(context.Background(), recording); err != nil {
		t.Fatal(err)
	}
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, w.ellie, access.FosterCarer)
	c := a.Client(t)
	a.SignIn(t, c, carer)
	c.Get(rec(w.ellie) + "/messages/new")
	res := c.PostMultipart(rec(w.ellie)+"/messages/new", apptest.Part{Name: "type", Value: strconv.FormatInt(recording.ID, 10)},
		apptest.Part{Name: "action", Value: "send"}, apptest.Part{Name: "event_date", Value: "2026-11-22"},
		apptest.Part{Name: "children", Value: "Ellie"}, apptest.Part{Name: "category", Value: "health"},
		apptest.Part{Name: "worker_to_act", Value: "yes"},
		apptest.Part{Name: "narrative", Value: "Ellie had a nosebleed at school; the nurse called me."}, photo("note from school.jpg"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}

	list := c.Get("/account/recordings")
	if !strings.Contains(list.Text("main"), "Ellie had a nosebleed at school") || !strings.Contains(list.Text("main"), "Ellie Smith") {
		t.Fatalf("Recordings I have sent shows %q", list.Text("main"))
	}
	href, _ := list.Doc.Find(`a[href^="/account/recordings/"][href$="/pdf"]`).Attr("href")
	pdf := c.Get(href)
	if pdf.StatusCode != http.StatusOK || pdf.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.Body, "%PDF-") {
		t.Fatalf("the PDF = %d %q", pdf.StatusCode, pdf.Header.Get("Content-Type"))
	}
	if got := pdf.Header.Get("Content-Disposition"); !strings.Contains(got, `filename="Recording `) || !strings.HasSuffix(got, `.pdf`) {
		t.Errorf("the PDF is offered as %q", got)
	}
	file, _ := list.Doc.Find(`.app-files a[href^="/account/recordings/"]`).Attr("href")
	thumb, _ := list.Doc.Find(`.app-files img`).Attr("src")
	if got := c.Get(file); got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "image/jpeg" || c.Get(thumb).StatusCode != http.StatusOK {
		t.Fatalf("the recording's photo %q = %d (thumbnail %q)", file, got.StatusCode, thumb)
	}
	// Another holder (mum, on the same record) sees none of it, and gets the
	// same 404 for the PDF as for one that does not exist.
	if strings.Contains(w.mumC.Get("/account/recordings").Text("main"), "nosebleed") {
		t.Error("another holder sees the carer's recording")
	}
	for _, path := range []string{href, file, thumb} {
		if res := w.mumC.Get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("another holder: %s = %d, want 404", path, res.StatusCode)
		}
	}

	// The record's worker sees the same list for this carer, with the PDF;
	// a worker of another team gets the 404 of a record that is not there.
	staff := a.Client(t)
	a.SignIn(t, staff, w.worker)
	theirs := "/staff/records/" + strconv.FormatInt(w.ellie.ID, 10) + "/holders/" + strconv.FormatInt(carer.ID, 10) + "/recordings"
	if page := staff.Get("/staff/records/" + strconv.FormatInt(w.ellie.ID, 10)); page.Doc.Find(`a[href="`+theirs+`"]`).Length() != 1 {
		t.Fatal("the record's page has no link to the carer's recordings")
	}
	seen := staff.Get(theirs)
	if !strings.Contains(seen.Text("main"), "Ellie had a nosebleed at school") {
		t.Fatalf("the worker's list shows %q", seen.Text("main"))
	}
	staffPDF, _ := seen.Doc.Find(`a[href$="/pdf"]`).Attr("href")
	if res := staff.Get(staffPDF); res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Body, "%PDF-") {
		t.Fatalf("the worker's PDF = %d", res.StatusCode)
	}
	staffFile, _ := seen.Doc.Find(`.app-files a`).Attr("href")
	if res := staff.Get(staffFile); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("the worker's copy of the photo %q = %d", staffFile, res.StatusCode)
	}
	other := a.Client(t)
	a.SignIn(t, other, a.NewWorker(t, "elsewhere@example.org", fostering))
	for _, path := range []string{theirs, staffPDF, staffFile} {
		if res := other.Get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("another team's worker: %s = %d, want 404", path, res.StatusCode)
		}
	}

	// The placement ends: access ends after the grace, the copy stays for
	// RECORDINGS_KEPT_DAYS more (30 by default), then goes.
	grants := access.NewStore(a.DB.Gorm, a.Clock)
	var grantID int64
	a.DB.Gorm.Raw(`SELECT id FROM grants WHERE person_id = ? AND record_id = ?`, carer.ID, w.ellie.ID).Scan(&grantID)
	ends, err := grants.EndPlacement(context.Background(), w.ellie.ID, grantID, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	a.Clock.Set(ends.Add(time.Hour))
	a.SignIn(t, c, carer)
	if res := c.Get(rec(w.ellie)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the record after access ended = %d, want 404", res.StatusCode)
	}
	if !strings.Contains(c.Get("/account/recordings").Text("main"), "nosebleed") {
		t.Fatalf("the carer's copy is gone as soon as access ended: %q", c.Get("/account/recordings").Text("main"))
	}
	if res := c.Get(file); res.StatusCode != http.StatusOK {
		t.Fatalf("the kept recording's photo after access ended = %d", res.StatusCode)
	}
	a.Clock.Set(ends.Add(31 * 24 * time.Hour))
	a.SignIn(t, c, carer)
	if strings.Contains(c.Get("/account/recordings").Text("main"), "nosebleed") {
		t.Fatal("the carer's copy is still there after RECORDINGS_KEPT_DAYS")
	}
	for _, path := range []string{href, file} {
		if res := c.Get(path); res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s after RECORDINGS_KEPT_DAYS = %d, want 404", path, res.StatusCode)
		}
	}
}

// TestAWorkerAsksACarerForARecording: a thread a worker starts with the
// recording's type asks for one: the carer's reply is the recording's
// questions, and it joins "Recordings I have sent".
func TestAWorkerAsksACarerForARecording(t *testing.T) {
	w := newWorld(t, apptest.Options{Configure: func(c *config.Config) { c.RecordingsKept = 30 }})
	a := w.a
	key := messages.RecordingForm
	recording := &messages.Type{NameEN: "Foster carer recording", NameCY: "Cofnod gofalwr maeth", TeamID: w.toWorker.TeamID, FormKey: &key, Active: true, Position: 2}
	if err := w.store.SaveType(context.Background(), recording); err != nil {
		t.Fatal(err)
	}
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, w.ellie, access.FosterCarer)
	staff := a.Client(t)
	a.SignIn(t, staff, w.worker)
	ellie := "/staff/records/" + strconv.FormatInt(w.ellie.ID, 10)
	staff.Get(ellie + "/messages/new")
	res := staff.PostForm(ellie+"/messages", url.Values{"holder": {strconv.FormatInt(carer.ID, 10)},
		"type": {strconv.FormatInt(recording.ID, 10)}, "subject": {"Contact visit on Saturday"},
		"body": {"Please send a recording about Saturday's contact visit."}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the worker's request = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	c := a.Client(t)
	a.SignIn(t, c, carer)
	list := c.Get(rec(w.ellie) + "/messages")
	link, _ := list.Doc.Find(`main table a[href^="` + rec(w.ellie) + `/messages/"], main .app-thread-list a, main li a[href^="` + rec(w.ellie) + `/messages/"]`).Last().Attr("href")
	thread := c.Get(link)
	if thread.Doc.Find("#narrative").Length() != 1 || thread.Doc.Find("textarea#body").Length() != 0 {
		t.Fatalf("the asked-for thread does not open the recording: %q", thread.Text("main"))
	}
	answers := url.Values{"event_date": {"2026-11-22"}, "children": {"Ellie"}, "category": {"contact"}, "worker_to_act": {"no"}}
	if res := c.PostForm(link, answers); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Doc.Find(`.govuk-error-summary a[href="#narrative"]`).Length() == 0 {
		t.Fatalf("a recording without its narrative = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	answers.Set("narrative", "Contact went well; Ellie was happy to see her nan.")
	if res := c.PostForm(link, answers); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the recording = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	if !strings.Contains(c.Get("/account/recordings").Text("main"), "Ellie was happy to see her nan") {
		t.Fatal("the asked-for recording is not in Recordings I have sent")
	}
	if got := staff.Get(ellie + "/holders/" + strconv.FormatInt(carer.ID, 10) + "/recordings").Text("main"); !strings.Contains(got, "happy to see her nan") {
		t.Fatalf("the worker's list shows %q", got)
	}
}
