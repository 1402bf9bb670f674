package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/export"
	"portal/app/messages"
	"portal/app/uploads/uploadtest"
	"portal/storage"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// family is a record held by two parents, each with their own thread and a
// document of their own, and the worker who sent them.
type family struct {
	a                  *apptest.TestApp
	mum, dad           *accounts.Person
	mumC, dadC, worker *apptest.Client
	record             string
}

func newFamily(t *testing.T) *family {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "North Locality Team")
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	f := &family{a: a, mum: a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, ""),
		dad: a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, ""), record: "/records/" + strconv.FormatInt(ellie.ID, 10)}
	a.Grant(t, f.mum, ellie, access.Parent)
	a.Grant(t, f.dad, ellie, access.Parent)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges", TeamID: team.ID, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	f.mumC, f.dadC, f.worker = a.Client(t), a.Client(t), a.Client(t)
	a.SignIn(t, f.mumC, f.mum)
	a.SignIn(t, f.dadC, f.dad)
	a.SignIn(t, f.worker, a.NewWorker(t, "worker@example.org", team))
	for _, p := range []struct {
		c           *apptest.Client
		words, file string
	}{{f.mumC, "Mum's words about contact", "mum-photo.jpg"}, {f.dadC, "Dad's words nobody else reads", "dad-photo.jpg"}} {
		p.c.Get(f.record + "/messages/new")
		res := p.c.PostMultipart(f.record+"/messages/new", apptest.Part{Name: "type", Value: strconv.FormatInt(ty.ID, 10)},
			apptest.Part{Name: "subject", Value: "Contact"}, apptest.Part{Name: "body", Value: p.words},
			apptest.Part{Name: "action", Value: "send"},
			apptest.Part{Name: "files", FileName: p.file, Body: uploadtest.JPEGWithLocation(400, 300)})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a message = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
		}
	}
	staffRecord := "/staff/records/" + strconv.FormatInt(ellie.ID, 10)
	for _, d := range []struct {
		to    *accounts.Person
		title string
	}{{f.mum, "Mum's plan"}, {f.dad, "Dad's letter"}} {
		f.worker.Get(staffRecord + "/documents/new")
		res := f.worker.PostMultipart(staffRecord+"/documents", apptest.Part{Name: "title", Value: d.title},
			apptest.Part{Name: "kind", Value: "plan"}, apptest.Part{Name: "recipients", Value: strconv.FormatInt(d.to.ID, 10)},
			apptest.Part{Name: "file", FileName: d.title + ".pdf", Body: uploadtest.PDF(3000, "")})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a document = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
		}
	}
	f.contribute(t, ellie.ID)
	return f
}

// contribute sends each parent a review contribution; mum submits hers
// (its PDF goes to her documents), dad only starts his.
func (f *family) contribute(t *testing.T, record int64) {
	t.Helper()
	latest, err := f.a.Forms.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var tpl int64
	for _, x := range latest {
		if x.Key == "review_contribution" {
			tpl = x.ID
		}
	}
	sent, err := f.a.Forms.Send(context.Background(), f.a.DB.Gorm, tpl, record, []int64{f.mum.ID, f.dad.ID}, nil, f.mum.ID)
	if err != nil || len(sent) != 2 {
		t.Fatalf("sending the forms: %v", err)
	}
	form := func(p *accounts.Person) string {
		for _, x := range sent {
			if x.PersonID == p.ID {
				return f.record + "/forms/" + strconv.FormatInt(x.ID, 10)
			}
		}
		return ""
	}
	pages := []url.Values{
		{"your_name": {"Mum Example"}, "relationship": {"Mam"}, "attending": {"yes"}, "taking_part": {"in_person"}},
		{"gone_well": {"Mum's answer: Ellie has settled well."}},
		{"next": {"Mum's wish: the same school."}},
	}
	page := f.mumC.Get(form(f.mum) + "/pages/1")
	for i, answers := range pages {
		action := "continue"
		if i == len(pages)-1 {
			action = "submit"
		}
		answers.Set("action", action)
		rev, _ := page.Doc.Find(`input[name="revision"]`).Attr("value")
		answers.Set("revision", rev)
		path, _ := page.Doc.Find(`form[action*="/pages/"]`).Attr("action")
		res := f.mumC.PostForm(path, answers)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("page %d = %d: %s", i+1, res.StatusCode, res.Text(".govuk-error-summary"))
		}
		page = f.mumC.Get(res.Header.Get("Location"))
	}
	if res := f.mumC.PostForm(form(f.mum)+"/confirm", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Confirm = %d", res.StatusCode)
	}
	page = f.dadC.Get(form(f.dad) + "/pages/1")
	rev, _ := page.Doc.Find(`input[name="revision"]`).Attr("value")
	path, _ := page.Doc.Find(`form[action*="/pages/"]`).Attr("action")
	if res := f.dadC.PostForm(path, url.Values{"action": {"save"}, "revision": {rev}, "your_name": {"Dad's own name"},
		"relationship": {"Tad"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("dad's save = %d", res.StatusCode)
	}
}

// made asks for an export as c (on page, with form), works the queue and
// returns the download link the page then shows.
func (f *family) made(t *testing.T, c *apptest.Client, page, form, link string) string {
	t.Helper()
	c.Get(page)
	if res := c.PostForm(form, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("asking = %d: %q", res.StatusCode, res.Text("main"))
	}
	// Started, as in the portal: the job queues its email on the client
	// (a client Drain starts for itself is held until it is done).
	if err := f.a.Queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.a.Queue.Drain(context.Background(), export.Queue); err != nil {
		t.Fatal(err)
	}
	href, _ := c.Get(page).Doc.Find(link).Attr("href")
	if href == "" {
		t.Fatalf("no download on %s: %q", page, c.Get(page).Text("main"))
	}
	return href
}

// unzip reads every file of a zip.
func unzip(t *testing.T, body string) map[string]string {
	t.Helper()
	z, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		out[f.Name] = string(b)
	}
	return out
}

// TestAnExportHoldsExactlyThePersonsOwnData: mum's zip has her profile,
// her thread with its photo (no location), her document, her activity and
// a README in her language; nothing of dad's (a co-holder on the same
// record). The email names nothing; the stored file is encrypted; the link
// is a 404 for anyone else and after 7 days, when the clean-up deletes it.
func TestAnExportHoldsExactlyThePersonsOwnData(t *testing.T) {
	f := newFamily(t)
	a := f.a
	href := f.made(t, f.mumC, "/account/data", "/account/data", `a[href^="/account/data/"][href$="/download"]`)
	mail := a.LastSent(t, "email", f.mum.Email)
	if mail.Subject != a.T("email_data_ready.subject") || strings.Contains(mail.Body, "Ellie") || !strings.Contains(mail.Body, "/account/data") {
		t.Errorf("the email: %q\n%s", mail.Subject, mail.Body)
	}
	res := f.mumC.Get(href)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), ".zip") {
		t.Fatalf("the download = %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	files := unzip(t, res.Body)
	var all strings.Builder
	var photo, formPDF string
	for name, body := range files {
		all.WriteString(name + "\n" + body + "\n")
		if strings.HasSuffix(name, "mum-photo.jpg") {
			photo = body
		}
		if strings.HasPrefix(name, "forms/") && strings.HasSuffix(name, ".pdf") {
			formPDF = body
		}
	}
	if !strings.HasPrefix(formPDF, "%PDF-") {
		t.Error("the export lacks the PDF of mum's submitted form")
	}
	text := all.String()
	for _, want := range []string{"README.html", "profile.json", "records.json", "activity.csv", "mum@example.net",
		"Mum's words about contact", "Mum's plan", "Ellie Smith", "Mum's answer: Ellie has settled well.", "message.sent", a.T("export.readme.title")} {
		if !strings.Contains(text, want) {
			t.Errorf("the export lacks %q", want)
		}
	}
	for _, not := range []string{"Dad's words", "dad-photo", "Dad's letter", "dad@example.net", "Dad's own name", uploadtest.Location} {
		if strings.Contains(text, not) {
			t.Errorf("the export holds %q, which is not mum's", not)
		}
	}
	if len(photo) < 100 || !strings.HasPrefix(photo, "\xff\xd8") {
		t.Errorf("the photo in the export: %d bytes", len(photo))
	}

	var key string
	a.DB.Gorm.Raw(`SELECT object_key FROM data_exports WHERE person_id = ?`, f.mum.ID).Scan(&key)
	r, _, err := a.Store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(r)
	r.Close()
	if bytes.Contains(stored, []byte("PK\x03\x04")) || bytes.Contains(stored, []byte("Mum's")) || bytes.Contains(stored, []byte("mum@example")) {
		t.Error("the stored export is not encrypted")
	}

	for name, c := range map[string]*apptest.Client{"dad": f.dadC, "the worker": f.worker} {
		if res := c.Get(href); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s downloads mum's export: %d", name, res.StatusCode)
		}
	}
	var actions []string
	a.DB.Gorm.Raw(`SELECT action FROM audit_events WHERE action LIKE 'export.%' ORDER BY id`).Scan(&actions)
	if strings.Join(actions, ",") != "export.requested,export.made,export.downloaded" {
		t.Errorf("audited %v", actions)
	}

	a.Clock.Advance(export.Keep + time.Minute)
	a.SignIn(t, f.mumC, f.mum)
	if res := f.mumC.Get(href); res.StatusCode != http.StatusNotFound {
		t.Errorf("after 7 days the download = %d, want 404", res.StatusCode)
	}
	done, err := a.Jobs.Cleanup(context.Background())
	if err != nil || done.Exports != 1 {
		t.Fatalf("the clean-up deleted %d exports (%v)", done.Exports, err)
	}
	if _, err := a.Store.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the export's file is still stored: %v", err)
	}
}

// TestAnAdminMakesAPersonsExportForThemselves: made on the person's admin
// page for a request on paper, it is the admin's to download (the admin is
// emailed); the person cannot download it, and it is audited as the
// admin's.
func TestAnAdminMakesAPersonsExportForThemselves(t *testing.T) {
	f := newFamily(t)
	a := f.a
	admin := a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	ac := a.Client(t)
	a.SignIn(t, ac, admin)
	page := "/staff/admin/people/" + strconv.FormatInt(f.mum.ID, 10)
	href := f.made(t, ac, page, page+"/export", `#exports ~ ul a[href$="/download"]`)
	if mail := a.LastSent(t, "email", admin.Email); mail.Subject != a.T("email_data_ready_admin.subject") {
		t.Errorf("the admin's email: %q", mail.Subject)
	}
	res := ac.Get(href)
	if files := unzip(t, res.Body); !strings.Contains(files["profile.json"], "mum@example.net") {
		t.Fatalf("the admin's export of mum: %q", files["profile.json"])
	}
	id := href[strings.LastIndex(strings.TrimSuffix(href, "/download"), "/")+1 : len(href)-len("/download")]
	if res := f.mumC.Get("/account/data/" + id + "/download"); res.StatusCode != http.StatusNotFound {
		t.Errorf("mum downloads the admin's export: %d", res.StatusCode)
	}
	var by int64
	a.DB.Gorm.Raw(`SELECT actor_id FROM audit_events WHERE action = 'export.requested'`).Scan(&by)
	if by != admin.ID {
		t.Errorf("the request is audited as %d's, want the admin's", by)
	}
	worker := f.worker
	if res := worker.PostForm(page+"/export", nil); res.StatusCode == http.StatusSeeOther {
		t.Error("a worker made an export of a person")
	}
}

// TestAnExportIsNotAskedTwiceWhileOneIsMade: a second press while the
// first is being made makes nothing more.
func TestAnExportIsNotAskedTwiceWhileOneIsMade(t *testing.T) {
	f := newFamily(t)
	f.mumC.Get("/account/data")
	for range 2 {
		if res := f.mumC.PostForm("/account/data", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("asking = %d", res.StatusCode)
		}
	}
	var n int
	f.a.DB.Gorm.Raw(`SELECT count(*) FROM data_exports`).Scan(&n)
	if n != 1 {
		t.Errorf("%d exports, want 1", n)
	}
	if !strings.Contains(f.mumC.Get("/account/data").Text("main"), f.a.T("export.page.pending")) {
		t.Error("the page does not say it is being prepared")
	}
}
