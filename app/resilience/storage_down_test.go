package resilience_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/export"
	"portal/app/messages"
	"portal/app/records"
	"portal/app/uploads/uploadtest"
)

func TestMain(m *testing.M) { apptest.MainDurable(m) }

// family is a record on an app whose object storage is a real S3 server,
// with its worker and a holder, each signed in, and a message type.
type family struct {
	a             *apptest.TestApp
	ellie         *records.Record
	mum, worker   *accounts.Person
	workerC, mumC *apptest.Client
	toWorker      *messages.Type
}

func newFamily(t *testing.T) *family { t.Helper(); return newFamilyOn(t, apptest.Options{S3: true}) }

// newFamilyOn is newFamily on an app made with o.
func newFamilyOn(t *testing.T, o apptest.Options) *family {
	t.Helper()
	a := apptest.NewApp(t, o)
	team := a.NewTeam(t, "North Locality Team")
	f := &family{a: a, ellie: a.NewRecord(t, team, "Ellie", "Smith")}
	f.mum = a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, f.mum, f.ellie, access.Parent)
	f.workerC, f.mumC = a.Client(t), a.Client(t)
	f.worker = a.NewWorker(t, "worker@example.org", team)
	a.SignIn(t, f.workerC, f.worker)
	a.SignIn(t, f.mumC, f.mum)
	f.toWorker = &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, NameWorker: true, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).SaveType(t.Context(), f.toWorker); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *family) staffRecord() string { return "/staff/records/" + itoa(f.ellie.ID) }
func (f *family) record() string      { return "/records/" + itoa(f.ellie.ID) }
func itoa(id int64) string            { return strconv.FormatInt(id, 10) }

// sendDocument is the worker's "Send a document" form, as the browser posts it.
func (f *family) sendDocument(title string, file []byte) *apptest.Response {
	f.workerC.Get(f.staffRecord() + "/documents/new")
	return f.workerC.PostMultipart(f.staffRecord()+"/documents", apptest.Part{Name: "title", Value: title},
		apptest.Part{Name: "kind", Value: "assessment"}, apptest.Part{Name: "recipients", Value: itoa(f.mum.ID)},
		apptest.Part{Name: "file", FileName: "assessment.pdf", Body: file})
}

// sendMessage is the holder's New Message with a photo.
func (f *family) sendMessage(subject, body string) *apptest.Response {
	f.mumC.Get(f.record() + "/messages/new")
	return f.mumC.PostMultipart(f.record()+"/messages/new", apptest.Part{Name: "type", Value: itoa(f.toWorker.ID)},
		apptest.Part{Name: "subject", Value: subject}, apptest.Part{Name: "body", Value: body},
		apptest.Part{Name: "action", Value: "send"},
		apptest.Part{Name: "files", FileName: "IMG_0042.jpg", Body: uploadtest.JPEGWithLocation(640, 480)})
}

// formFor sends mum a form of the template key; it returns its path.
func (f *family) formFor(t *testing.T, key string) string {
	t.Helper()
	latest, err := f.a.Forms.Latest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range latest {
		if tpl.Key == key {
			sent, err := f.a.Forms.Send(t.Context(), f.a.DB.Gorm, tpl.ID, f.ellie.ID, []int64{f.mum.ID}, nil, f.worker.ID)
			if err != nil {
				t.Fatal(err)
			}
			return f.record() + "/forms/" + itoa(sent[0].ID)
		}
	}
	t.Fatalf("no template %q", key)
	return ""
}

// answeredForm sends mum a parent's contribution to a review, answers
// every page and presses Submit: the form waits at the confirmation step,
// whose path it returns.
func (f *family) answeredForm(t *testing.T) string {
	t.Helper()
	path := f.formFor(t, "review_contribution")
	page := f.mumC.Get(path + "/pages/1")
	for i, answers := range []url.Values{
		{"your_name": {"Siân Example"}, "relationship": {"Mam"}, "attending": {"yes"}, "taking_part": {"in_person"}},
		{"gone_well": {"Ellie has settled well at school."}},
		{"next": {"I would like Ellie to stay at her school."}},
	} {
		answers.Set("action", "continue")
		if i == 2 {
			answers.Set("action", "submit")
		}
		rev, _ := page.Doc.Find(`input[name="revision"]`).Attr("value")
		answers.Set("revision", rev)
		action, _ := page.Doc.Find(`form[action*="/pages/"]`).Attr("action")
		res := f.mumC.PostForm(action, answers)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("page %d = %d: %s", i+1, res.StatusCode, res.Text(".govuk-error-summary"))
		}
		page = f.mumC.Get(res.Header.Get("Location"))
	}
	if page.Request.URL.Path != path+"/confirm" {
		t.Fatalf("Submit led to %s, not the confirmation step", page.Request.URL.Path)
	}
	return path + "/confirm"
}

// export is mum's "Download my data", made by its job; it returns the
// download's path.
func (f *family) export(t *testing.T) string {
	t.Helper()
	f.mumC.Get("/account/data")
	if res := f.mumC.PostForm("/account/data", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("asking for my data = %d", res.StatusCode)
	}
	if err := f.a.Queue.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.a.Queue.Drain(t.Context(), export.Queue); err != nil {
		t.Fatal(err)
	}
	href, _ := f.mumC.Get("/account/data").Doc.Find(`a[href^="/account/data/"][href$="/download"]`).Attr("href")
	if href == "" {
		t.Fatal("no export to download")
	}
	return href
}

func (f *family) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.a.DB.Gorm.Raw(`SELECT count(*) FROM ` + table).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// readiness is /readyz's answer.
type readiness struct {
	Status string
	Checks map[string]string
}

func (f *family) ready(t *testing.T) (int, readiness, string) {
	t.Helper()
	res := f.a.Client(t).Get("/readyz")
	var r readiness
	if err := json.Unmarshal([]byte(res.Body), &r); err != nil {
		t.Fatalf("readyz = %d %q: %v", res.StatusCode, res.Body, err)
	}
	return res.StatusCode, r, res.Body
}

// TestStorageDown is issue 18's object storage point, against a real S3
// server the test stops and starts: while it is down, uploads (a document,
// a holder's message with a photo, a worker's reply with a file, a form's
// Confirm) answer 503 with a clear message, what was typed kept and no row
// stored; downloads (a document, a message's photo, an export) answer 503
// (the file exists: never a 404, never a 500); /readyz names storage.
// Once it is back, the same uploads go through.
func TestStorageDown(t *testing.T) {
	f := newFamily(t)
	a := f.a

	// Before the outage: a document sent, a message with a photo, a form
	// answered up to Confirm, mum's data exported.
	plan := uploadtest.PDF(4000, "")
	res := f.sendDocument("Child protection plan", plan)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a document before the outage = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	docPath := f.record() + "/documents/" + strings.TrimPrefix(res.Header.Get("Location"), f.staffRecord()+"#document-")
	res = f.sendMessage("For Jo", "The bruise on her arm.")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a message before the outage = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	thread := res.Header.Get("Location")
	photo, _ := f.mumC.Get(thread).Doc.Find(".app-files a.govuk-link").Attr("href")
	if photo == "" {
		t.Fatal("the thread shows no file")
	}
	confirm := f.answeredForm(t)
	zip := f.export(t)
	docs, msgs, files := f.count(t, "documents"), f.count(t, "messages"), f.count(t, "attachments")

	a.S3.Stop()

	t.Run("readyz names storage as down, and says no more", func(t *testing.T) {
		status, r, body := f.ready(t)
		if status != http.StatusServiceUnavailable || r.Checks["storage"] != "unavailable" || r.Checks["database"] != "ok" {
			t.Fatalf("readyz = %d %s", status, body)
		}
		if strings.Contains(body, a.S3.Addr) || strings.Contains(body, "refused") || strings.Contains(body, "dial") {
			t.Errorf("readyz reveals the error: %s", body)
		}
	})

	t.Run("downloads answer 503 with a page that says why", func(t *testing.T) {
		for what, c := range map[string]struct {
			c    *apptest.Client
			path string
		}{
			"a holder's document":               {f.mumC, docPath},
			"a message's photo":                 {f.mumC, photo},
			"an export":                         {f.mumC, zip},
			"the worker's copy of the document": {f.workerC, f.staffRecord() + "/documents/" + strings.TrimPrefix(docPath, f.record()+"/documents/")},
		} {
			res := c.c.Get(c.path)
			if res.StatusCode != http.StatusServiceUnavailable || res.Text("h1") != a.T("errors.storage.title") ||
				!strings.Contains(res.Body, a.T("errors.storage.body")) {
				t.Errorf("%s (%s) = %d %q", what, c.path, res.StatusCode, res.Text("h1"))
			}
		}
	})

	t.Run("sending a document keeps the title, kind and recipients, and stores nothing", func(t *testing.T) {
		res := f.sendDocument("Review meeting notes", uploadtest.PDF(3000, ""))
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Text(".govuk-error-summary"), a.T("errors.storage.upload")) {
			t.Fatalf("= %d, errors %q", res.StatusCode, res.Text(".govuk-error-summary"))
		}
		if res.Doc.Find(`input#title[value="Review meeting notes"]`).Length() != 1 ||
			res.Doc.Find(`input[name="kind"][value="assessment"][checked]`).Length() != 1 ||
			res.Doc.Find(`input[name="recipients"][value="`+itoa(f.mum.ID)+`"][checked]`).Length() != 1 {
			t.Error("the page lost what the worker chose")
		}
		if n := f.count(t, "documents"); n != docs {
			t.Errorf("%d documents, want %d: a row without its file", n, docs)
		}
	})

	t.Run("a message with a photo keeps the words, and nothing is sent", func(t *testing.T) {
		res := f.sendMessage("For Jo again", "Her arm is better today.")
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Text("#files-error"), a.T("errors.storage.upload_message")) ||
			res.Header.Get("X-Portal-Retry") != "safe" {
			t.Fatalf("= %d, files error %q, X-Portal-Retry %q", res.StatusCode, res.Text("#files-error"), res.Header.Get("X-Portal-Retry"))
		}
		if res.Text("textarea#body") != "Her arm is better today." || res.Doc.Find(`input#subject[value="For Jo again"]`).Length() != 1 {
			t.Errorf("the words are lost: %q", res.Text("textarea#body"))
		}
		if again := f.mumC.Get(f.record() + "/messages/new"); again.Text("textarea#body") != "Her arm is better today." {
			t.Errorf("the draft is %q", again.Text("textarea#body"))
		}
		if n, m := f.count(t, "messages"), f.count(t, "attachments"); n != msgs || m != files {
			t.Errorf("%d messages and %d files, want %d and %d", n, m, msgs, files)
		}
	})

	t.Run("a worker's reply with a file keeps the words, and nothing is sent", func(t *testing.T) {
		id := thread[strings.LastIndex(thread, "/")+1:]
		f.workerC.Get("/staff/inbox/" + id)
		res := f.workerC.PostMultipart("/staff/inbox/"+id+"/reply", apptest.Part{Name: "body", Value: "Here is the plan."},
			apptest.Part{Name: "files", FileName: "Plan.pdf", Body: uploadtest.PDF(2000, "")})
		if res.StatusCode != http.StatusServiceUnavailable || res.Text("textarea#body") != "Here is the plan." ||
			!strings.Contains(res.Text("#files-error"), a.T("errors.storage.upload_message")) {
			t.Fatalf("= %d, words %q, files error %q", res.StatusCode, res.Text("textarea#body"), res.Text("#files-error"))
		}
		if n := f.count(t, "messages"); n != msgs {
			t.Errorf("%d messages, want %d", n, msgs)
		}
	})

	t.Run("confirming a form keeps it unsent, its answers saved", func(t *testing.T) {
		res := f.mumC.PostForm(confirm, nil)
		if res.StatusCode != http.StatusServiceUnavailable || res.Text("h1") != a.T("errors.storage.form_title") {
			t.Fatalf("Confirm = %d %q", res.StatusCode, res.Text("h1"))
		}
		if n := f.count(t, "documents"); n != docs {
			t.Errorf("%d documents, want %d", n, docs)
		}
		var submitted int
		a.DB.Gorm.Raw(`SELECT count(*) FROM forms WHERE submitted_at IS NOT NULL`).Scan(&submitted)
		if submitted != 0 {
			t.Errorf("%d forms marked submitted", submitted)
		}
	})

	a.S3.Start()

	t.Run("back up: ready, the files open, the same upload goes through", func(t *testing.T) {
		if status, r, body := f.ready(t); status != http.StatusOK || r.Checks["storage"] != "ok" {
			t.Fatalf("readyz = %d %s", status, body)
		}
		if res := f.mumC.Get(docPath); res.StatusCode != http.StatusOK || !bytes.Equal([]byte(res.Body), plan) {
			t.Errorf("the document = %d, %d bytes", res.StatusCode, len(res.Body))
		}
		if res := f.mumC.Get(photo); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("the photo = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res := f.mumC.Get(zip); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" {
			t.Errorf("the export = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res := f.sendDocument("Review meeting notes", uploadtest.PDF(3000, "")); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the document again = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
		}
		if res := f.sendMessage("For Jo again", "Her arm is better today."); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the message again = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
		}
		if n, m := f.count(t, "messages"), f.count(t, "attachments"); n != msgs+1 || m != files+1 {
			t.Errorf("%d messages and %d files, want %d and %d", n, m, msgs+1, files+1)
		}
		if res := f.mumC.PostForm(confirm, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("Confirm again = %d: %s", res.StatusCode, res.Text("h1"))
		}
	})
}

// TestAConfirmSentAgainAfterItsAnswerWasLost: a form's Confirm went
// through but its answer never came (the database went away after the
// commit, or the signal did), and its idempotency key was released; sent
// again, it is answered as the first was (Items to view, "sent"), not with
// the 404 of a form already submitted, and the form is submitted once.
func TestAConfirmSentAgainAfterItsAnswerWasLost(t *testing.T) {
	f := newFamily(t)
	confirm := f.answeredForm(t)
	key, _ := f.mumC.Get(confirm).Doc.Find(`form[action$="/confirm"] input[name="_idem"]`).Attr("value")
	if key == "" {
		t.Fatal("Confirm has no idempotency key")
	}
	first := f.mumC.PostForm(confirm, url.Values{"_idem": {key}})
	f.a.DB.Gorm.Exec(`DELETE FROM idempotency_keys`) // released, as after a failure
	again := f.mumC.PostForm(confirm, url.Values{"_idem": {key}})
	if first.StatusCode != http.StatusSeeOther || again.StatusCode != http.StatusSeeOther ||
		again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("Confirm = %d %q, again %d %q", first.StatusCode, first.Header.Get("Location"), again.StatusCode, again.Header.Get("Location"))
	}
	if n := f.count(t, "documents"); n != 1 {
		t.Errorf("%d copies of the form, want 1", n)
	}
	if page := f.mumC.Get(again.Header.Get("Location")); !strings.Contains(page.Text("#flash"), f.a.T("forms.submitted")) {
		t.Errorf("the page after Confirm again says %q", page.Text("#flash"))
	}
}
