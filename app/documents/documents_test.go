package documents_test

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/records"
	"portal/app/uploads/uploadtest"
)

// world is a record (Ellie) held by mum and dad, another (Sam) held by a
// stranger, and a worker of the team, signed in.
type world struct {
	a                  *apptest.TestApp
	worker             *apptest.Client
	ellie, sam         *records.Record
	mum, dad, other    *accounts.Person
	mumC, dadC, otherC *apptest.Client
}

func newWorld(t *testing.T, o apptest.Options) *world {
	a := apptest.NewApp(t, o)
	team := a.NewTeam(t, "North Locality Team")
	w := &world{a: a, ellie: a.NewRecord(t, team, "Ellie", "Smith"), sam: a.NewRecord(t, team, "Sam", "Jones")}
	w.worker = a.Client(t)
	a.SignIn(t, w.worker, a.NewWorker(t, "worker@example.org", team))
	w.mum = a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	w.dad = a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	w.other = a.NewPerson(t, "other@example.net", accounts.RoleCitizen, "")
	a.Grant(t, w.mum, w.ellie, access.Parent)
	a.Grant(t, w.dad, w.ellie, access.Parent)
	a.Grant(t, w.other, w.sam, access.Parent)
	for _, p := range []struct {
		c **apptest.Client
		p *accounts.Person
	}{{&w.mumC, w.mum}, {&w.dadC, w.dad}, {&w.otherC, w.other}} {
		*p.c = a.Client(t)
		a.SignIn(t, *p.c, p.p)
	}
	return w
}

func staffRecord(r *records.Record) string  { return "/staff/records/" + strconv.FormatInt(r.ID, 10) }
func holderRecord(r *records.Record) string { return "/records/" + strconv.FormatInt(r.ID, 10) }
func id(p *accounts.Person) string          { return strconv.FormatInt(p.ID, 10) }

// pdf is a well-formed PDF of size bytes (at least uploadtest.MinPDF).
func pdf(t *testing.T, size int) []byte { return uploadtest.PDF(size, "") }

// send uploads file as a document of r to recipients and returns the answer.
func (w *world) send(t *testing.T, r *records.Record, title, fileName string, file []byte, recipients ...*accounts.Person) *apptest.Response {
	t.Helper()
	w.worker.Get(staffRecord(r) + "/documents/new")
	parts := []apptest.Part{{Name: "title", Value: title}, {Name: "kind", Value: "assessment"}}
	for _, p := range recipients {
		parts = append(parts, apptest.Part{Name: "recipients", Value: id(p)})
	}
	parts = append(parts, apptest.Part{Name: "file", FileName: fileName, Body: file})
	return w.worker.PostMultipart(staffRecord(r)+"/documents", parts...)
}

// sent sends a document and returns its holder download path.
func (w *world) sent(t *testing.T, r *records.Record, title string, file []byte, recipients ...*accounts.Person) string {
	t.Helper()
	res := w.send(t, r, title, "report.pdf", file, recipients...)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, staffRecord(r)+"#document-") {
		t.Fatalf("send = %d %q: %s", res.StatusCode, loc, res.Text(".govuk-error-summary"))
	}
	return holderRecord(r) + "/documents/" + strings.TrimPrefix(loc, staffRecord(r)+"#document-")
}

func TestAWorkerSendsADocumentAndItsHolderOpensIt(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	a := w.a
	form := w.worker.Get(staffRecord(w.ellie) + "/documents/new")
	if n := form.Doc.Find(`input[name="recipients"]`).Length(); n != 2 {
		t.Fatalf("the form offers %d recipients, want Ellie's 2 holders", n)
	}
	if form.Doc.Find(`input[name="recipients"][checked]`).Length() != 0 {
		t.Error("a recipient is ticked before the worker chose one")
	}
	if form.Doc.Find(`input[name="recipients"][value="`+id(w.other)+`"]`).Length() != 0 {
		t.Error("the form offers another record's holder")
	}

	file := pdf(t, 300_000)
	path := w.sent(t, w.ellie, "Child and family assessment", file, w.mum)

	mail := a.LastSent(t, "email", w.mum.Email)
	if mail.Subject != a.T("email_new_document.subject") || !strings.Contains(mail.Body, a.URL+"/sign-in") {
		t.Errorf("the email: %q\n%s", mail.Subject, mail.Body)
	}
	for _, personal := range []string{"Ellie", "Smith", "assessment", "Assessment", "report"} {
		if strings.Contains(mail.Subject+mail.Body, personal) {
			t.Errorf("the email says %q", personal)
		}
	}
	var toDad int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE recipient = ?`, w.dad.Email).Scan(&toDad)
	if toDad != 0 {
		t.Error("dad, who was not chosen, was emailed")
	}

	dash := w.mumC.Get(holderRecord(w.ellie))
	if got, want := dash.Text("#count-documents"), a.T("records.count.documents", "N", 1); got != want {
		t.Errorf("the tile says %q, want %q", got, want)
	}
	list := w.mumC.Get(holderRecord(w.ellie) + "/documents")
	item := list.Doc.Find(".app-items__item--new a")
	if href, _ := item.Attr("href"); href != path || !strings.Contains(item.Text(), a.T("documents.list.unopened")) {
		t.Fatalf("the unopened item: %q %q", href, item.Text())
	}
	if list.Doc.Find(`input[type="file"], form[enctype]`).Length() != 0 {
		t.Error("Items to view offers an upload")
	}
	if dadList := w.dadC.Get(holderRecord(w.ellie) + "/documents"); !strings.Contains(dadList.Body, a.T("records.documents.none")) {
		t.Error("dad sees a document sent only to mum")
	}
	if res := w.dadC.Get(path); res.StatusCode != http.StatusNotFound {
		t.Errorf("dad downloads mum's document: %d", res.StatusCode)
	}

	res := w.mumC.Get(path)
	if res.StatusCode != http.StatusOK || !bytes.Equal([]byte(res.Body), file) {
		t.Fatalf("download = %d, %d bytes, same = %v", res.StatusCode, len(res.Body), bytes.Equal([]byte(res.Body), file))
	}
	for h, want := range map[string]string{"Content-Type": "application/pdf", "Content-Security-Policy": "sandbox",
		"Cross-Origin-Resource-Policy": "same-origin", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	disp, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != "report.pdf" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "filename*=UTF-8''report.pdf") {
		t.Errorf("Content-Disposition = %q", res.Header.Get("Content-Disposition"))
	}

	after := w.mumC.Get(holderRecord(w.ellie) + "/documents")
	if after.Doc.Find(".app-items__item--new").Length() != 0 ||
		!strings.Contains(after.Body, a.T("documents.list.opened_by_you", "Date", "23 November 2026, 09:00")) {
		t.Errorf("after opening: %s", after.Text(".app-items"))
	}
	if got := w.mumC.Get(holderRecord(w.ellie)).Text("#count-documents"); got != a.T("records.count.documents_none") {
		t.Errorf("the tile after opening says %q", got)
	}
	page := w.worker.Get(staffRecord(w.ellie))
	card := page.Text(".govuk-summary-card[id^=document-]")
	if !strings.Contains(card, w.mum.GivenName+" "+w.mum.FamilyName+": "+a.T("staff.document.opened_at", "Date", "23 November 2026, 09:00")) {
		t.Errorf("the worker does not see mum's open: %q", card)
	}
	w.mumC.Get(path)
	var actions []string
	a.DB.Gorm.Raw(`SELECT action FROM audit_events WHERE action LIKE 'document.%' AND action <> 'document.listed' ORDER BY id`).Scan(&actions)
	if strings.Join(actions, " ") != "document.sent document.opened document.downloaded" {
		t.Errorf("audit trail: %v", actions)
	}
	var listed int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'document.listed' AND actor_id = ? AND record_id = ?`,
		w.mum.ID, w.ellie.ID).Scan(&listed)
	if listed != 2 {
		t.Errorf("mum's two looks at Items to view wrote %d audit events", listed)
	}
}

func TestAnotherHoldersOrRecordsDocumentIsTheSame404(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	mums := w.sent(t, w.ellie, "Plan", pdf(t, 2000), w.mum)
	others := w.sent(t, w.sam, "Letter", pdf(t, 2000), w.other)
	othersID := others[strings.LastIndex(others, "/")+1:]
	missing := w.mumC.Get(holderRecord(w.ellie) + "/documents/999999")
	if missing.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing document = %d", missing.StatusCode)
	}
	for name, try := range map[string]func() *apptest.Response{
		"another record's document under mine": func() *apptest.Response { return w.mumC.Get(holderRecord(w.ellie) + "/documents/" + othersID) },
		"another record's document under it":   func() *apptest.Response { return w.mumC.Get(others) },
		"a co-holder's document":               func() *apptest.Response { return w.dadC.Get(mums) },
		"a worker of the team, as a holder":    func() *apptest.Response { return w.worker.Get(mums) },
	} {
		res := try()
		if res.StatusCode != http.StatusNotFound || res.Text("h1") != missing.Text("h1") {
			t.Errorf("%s = %d %q, want the 404 of a missing one", name, res.StatusCode, res.Text("h1"))
		}
	}
}

func TestAWithdrawnDocumentCannotBeDownloaded(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	a := w.a
	path := w.sent(t, w.ellie, "Letter sent in error", pdf(t, 5000), w.mum, w.dad)
	docID := path[strings.LastIndex(path, "/")+1:]
	var key string
	a.DB.Gorm.Raw(`SELECT object_key FROM documents WHERE id = ?`, docID).Scan(&key)
	staffDoc := staffRecord(w.ellie) + "/documents/" + docID

	confirm := w.worker.Get(staffDoc + "/withdraw")
	if confirm.StatusCode != http.StatusOK || !strings.Contains(confirm.Body, "Letter sent in error") {
		t.Fatalf("the confirmation page = %d", confirm.StatusCode)
	}
	if res := w.worker.PostForm(staffDoc+"/withdraw", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw = %d", res.StatusCode)
	}
	for _, c := range []*apptest.Client{w.mumC, w.dadC} {
		if res := c.Get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("a holder downloads a withdrawn document: %d", res.StatusCode)
		}
		if list := c.Get(holderRecord(w.ellie) + "/documents"); strings.Contains(list.Body, "Letter sent in error") {
			t.Error("a withdrawn document is still listed")
		}
		if got := c.Get(holderRecord(w.ellie)).Text("#count-documents"); got != a.T("records.count.documents_none") {
			t.Errorf("a withdrawn document still counts: %q", got)
		}
	}
	if res := w.worker.Get(staffDoc); res.StatusCode != http.StatusNotFound {
		t.Errorf("the worker downloads a withdrawn document: %d", res.StatusCode)
	}
	if _, err := a.Store.Stat(t.Context(), key); err == nil {
		t.Error("the withdrawn document's file is still in storage")
	}
	if res := w.worker.PostForm(staffDoc+"/withdraw", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("withdrawing twice = %d", res.StatusCode)
	}
	page := w.worker.Get(staffRecord(w.ellie))
	if !strings.Contains(page.Text("#document-"+docID), a.T("staff.document.status_withdrawn")) ||
		!strings.Contains(page.Text("table"), a.T("staff.audit.document.withdrawn")) {
		t.Error("the record page does not show the withdrawal")
	}
}

func TestOnlyTheHoldersOwnDownloadMarksADocumentOpened(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	path := w.sent(t, w.ellie, "Plan", pdf(t, 2000), w.mum)
	w.mumC.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := w.mumC.Get(path); res.StatusCode != http.StatusNotFound {
		t.Errorf("a download from another site's link = %d, want 404", res.StatusCode)
	}
	w.mumC.Header.Del("Sec-Fetch-Site")
	if res := w.mumC.Do(http.MethodHead, path, nil, ""); res.StatusCode != http.StatusOK {
		t.Errorf("HEAD = %d", res.StatusCode)
	}
	if got := w.mumC.Get(holderRecord(w.ellie)).Text("#count-documents"); got != w.a.T("records.count.documents", "N", 1) {
		t.Errorf("after a cross-site link and a HEAD the tile says %q: the document counts as opened", got)
	}
}
