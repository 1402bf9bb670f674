package forms_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/formdef"
	"portal/app/records"
	"portal/app/web"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// world is Ellie's record held by mum and dad, Sam's by a stranger, and a
// worker of the team.
type world struct {
	a               *apptest.TestApp
	ellie, sam      *records.Record
	mum, dad, other *accounts.Person
	worker          *accounts.Person
	mumC, dadC      *apptest.Client
}

func newWorld(t *testing.T) *world {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "North Locality Team")
	w := &world{a: a, ellie: a.NewRecord(t, team, "Ellie", "Smith"), sam: a.NewRecord(t, team, "Sam", "Jones")}
	w.worker = a.NewWorker(t, "worker@example.org", team)
	w.mum = a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	w.dad = a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	w.other = a.NewPerson(t, "other@example.net", accounts.RoleCitizen, "")
	a.Grant(t, w.mum, w.ellie, access.Parent)
	a.Grant(t, w.dad, w.ellie, access.Parent)
	a.Grant(t, w.other, w.sam, access.Parent)
	w.mumC, w.dadC = a.Client(t), a.Client(t)
	a.SignIn(t, w.mumC, w.mum)
	a.SignIn(t, w.dadC, w.dad)
	return w
}

// send gives person a copy of template key on r, as a worker would, and
// returns the form's path.
func (w *world) send(t *testing.T, key string, r *records.Record, p *accounts.Person) string {
	t.Helper()
	latest, err := w.a.Forms.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range latest {
		if tpl.Key == key {
			sent, err := w.a.Forms.Send(context.Background(), w.a.DB.Gorm, tpl.ID, r.ID, []int64{p.ID}, nil, w.worker.ID)
			if err != nil {
				t.Fatal(err)
			}
			return "/records/" + strconv.FormatInt(r.ID, 10) + "/forms/" + strconv.FormatInt(sent[0].ID, 10)
		}
	}
	t.Fatalf("no template %q", key)
	return ""
}

func records_(r *records.Record) string { return "/records/" + strconv.FormatInt(r.ID, 10) }

// post posts a page's form as the browser would, with the page's revision.
func post(c *apptest.Client, page *apptest.Response, action string, answers url.Values) *apptest.Response {
	form := url.Values{"action": {action}}
	rev, _ := page.Doc.Find(`input[name="revision"]`).Attr("value")
	form.Set("revision", rev)
	for k, v := range answers {
		form[k] = v
	}
	path, _ := page.Doc.Find(`form[action*="/pages/"]`).Attr("action")
	return c.PostForm(path, form)
}

func TestAFormIsSavedForLaterAndComesBackIntact(t *testing.T) {
	w := newWorld(t)
	a := w.a
	path := w.send(t, "review_contribution", w.ellie, w.mum)
	if got := w.mumC.Get(records_(w.ellie)).Text("#count-forms"); got != a.T("records.count.forms", "N", 1) {
		t.Errorf("the Items to complete tile says %q", got)
	}
	list := w.mumC.Get(records_(w.ellie) + "/forms")
	if href, _ := list.Doc.Find(".app-items__link").Attr("href"); href != path {
		t.Fatalf("Items to complete links to %q, want %q", href, path)
	}
	if res := w.mumC.Get(path); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path+"/pages/1" {
		t.Fatalf("opening the form = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := w.mumC.Get(path + "/pages/1")
	if !strings.Contains(page.Text(".govuk-caption-l"), a.T("forms.page.progress", "Page", 1, "Count", 3)) {
		t.Errorf("no progress: %q", page.Text(".govuk-caption-l"))
	}
	// Guide 000 puts Print beside Save for later, on every page.
	if page.Doc.Find(`button[value="later"] ~ button[data-print]`).Length() != 1 {
		t.Error("no Print beside Save for later")
	}

	// Continue without the required answers: 422, a summary linking to
	// each, what was typed kept.
	res := post(w.mumC, page, "continue", url.Values{"your_name": {"Pat Example"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an incomplete page = %d, want 422", res.StatusCode)
	}
	if res.Doc.Find(`.govuk-error-summary a[href="#relationship"]`).Length() == 0 {
		t.Errorf("the summary does not link to the missing answer: %q", res.Text(".govuk-error-summary"))
	}
	if v, _ := res.Doc.Find("#your_name").Attr("value"); v != "Pat Example" {
		t.Errorf("the typed name came back as %q", v)
	}

	// Save for later: back to Items to complete, the answers kept.
	res = post(w.mumC, res, "later", url.Values{"your_name": {"Pat Example"}, "relationship": {"Mum"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != records_(w.ellie)+"/forms" {
		t.Fatalf("Save for later = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	again := w.mumC.Get(path + "/pages/1")
	if v, _ := again.Doc.Find("#your_name").Attr("value"); v != "Pat Example" {
		t.Errorf("after Save for later the name is %q", v)
	}
	if v, _ := again.Doc.Find("#relationship").Attr("value"); v != "Mum" {
		t.Errorf("after Save for later the relationship is %q", v)
	}
	if !strings.Contains(w.mumC.Get(records_(w.ellie)+"/forms").Text(".app-items"), a.T("forms.list.started")) {
		t.Error("the form is not shown as started")
	}
	var sealed string
	a.DB.Gorm.Raw(`SELECT answers FROM forms`).Scan(&sealed)
	if strings.Contains(sealed, "Pat Example") || sealed == "" {
		t.Errorf("the answers are not sealed at rest: %q", sealed)
	}
}

func TestTheLaterOfTwoTabsDoesNotOverwriteSilently(t *testing.T) {
	w := newWorld(t)
	path := w.send(t, "review_contribution", w.ellie, w.mum)
	tab1 := w.mumC.Get(path + "/pages/1")
	tab2 := w.mumC.Get(path + "/pages/1")
	if res := post(w.mumC, tab1, "save", url.Values{"your_name": {"From the phone"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first save = %d", res.StatusCode)
	}
	res := post(w.mumC, tab2, "save", url.Values{"your_name": {"From the laptop"}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("the stale save = %d, want 409", res.StatusCode)
	}
	if !strings.Contains(res.Text("[role=alert]"), w.a.T("forms.conflict.title")) {
		t.Error("the person is not told the answers changed elsewhere")
	}
	if v, _ := res.Doc.Find("#your_name").Attr("value"); v != "From the phone" {
		t.Errorf("the page shows %q, want the newer answer", v)
	}
	if v, _ := w.mumC.Get(path + "/pages/1").Doc.Find("#your_name").Attr("value"); v != "From the phone" {
		t.Errorf("the stale save overwrote the newer one: %q", v)
	}
	// Saving again from the refreshed page works.
	if res := post(w.mumC, res, "save", url.Values{"your_name": {"From the laptop"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("saving after the conflict = %d", res.StatusCode)
	}
}

func TestAnotherHoldersOrRecordsFormIsTheSame404(t *testing.T) {
	w := newWorld(t)
	mums := w.send(t, "review_contribution", w.ellie, w.mum)
	others := w.send(t, "review_contribution", w.sam, w.other)
	othersID := others[strings.LastIndex(others, "/")+1:]
	missing := w.mumC.Get(records_(w.ellie) + "/forms/999999/pages/1")
	if missing.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing form = %d", missing.StatusCode)
	}
	for name, res := range map[string]*apptest.Response{
		"a co-holder's form":                  w.dadC.Get(mums + "/pages/1"),
		"another record's form under mine":    w.mumC.Get(records_(w.ellie) + "/forms/" + othersID + "/pages/1"),
		"another record's form under its own": w.mumC.Get(others + "/pages/1"),
		"a page past the last":                w.mumC.Get(mums + "/pages/4"),
	} {
		if res.StatusCode != http.StatusNotFound || res.Text("h1") != missing.Text("h1") {
			t.Errorf("%s = %d %q, want the 404 of a missing one", name, res.StatusCode, res.Text("h1"))
		}
	}
	dadPage := w.dadC.Get(records_(w.ellie) + "/forms")
	if strings.Contains(dadPage.Body, mums) {
		t.Error("dad's Items to complete lists mum's form")
	}
}

func TestAWorkerSendsEachChosenHolderTheirOwnCopy(t *testing.T) {
	w := newWorld(t)
	a := w.a
	worker := a.Client(t)
	a.SignIn(t, worker, w.worker)
	staff := "/staff/records/" + strconv.FormatInt(w.ellie.ID, 10)
	page := worker.Get(staff + "/forms/new")
	if page.Doc.Find(`input:checked`).Length() != 0 {
		t.Error("something is chosen before the worker chose it")
	}
	ids := map[string]string{}
	page.Doc.Find(`input[name="template"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		ids[strings.TrimSpace(s.Parent().Find("label").Text())] = v
	})
	review, recording := ids["Parent/carer contribution to a review"], ids["Foster carer recording"]
	if review == "" || recording == "" {
		t.Fatalf("the templates offered: %v", ids)
	}
	for name, tt := range map[string]struct {
		form  url.Values
		field string
	}{
		"no due date":             {url.Values{"template": {review}, "recipients": {id(w.mum)}}, "due_on"},
		"a due date in the past":  {url.Values{"template": {review}, "recipients": {id(w.mum)}, "due_on": {"2026-11-22"}}, "due_on"},
		"nobody chosen":           {url.Values{"template": {review}, "due_on": {"2026-12-14"}}, "recipients"},
		"a recording to a parent": {url.Values{"template": {recording}, "recipients": {id(w.mum)}, "due_on": {"2026-12-14"}}, "recipients"},
		"another record's holder": {url.Values{"template": {review}, "recipients": {id(w.other)}, "due_on": {"2026-12-14"}}, "recipients"},
	} {
		res := worker.PostForm(staff+"/forms", tt.form)
		if res.StatusCode != http.StatusUnprocessableEntity || res.Doc.Find(`.govuk-error-summary a[href="#`+tt.field+`"]`).Length() == 0 {
			t.Errorf("%s = %d, want 422 on %s: %q", name, res.StatusCode, tt.field, res.Text(".govuk-error-summary"))
		}
	}
	res := worker.PostForm(staff+"/forms", url.Values{"template": {review}, "recipients": {id(w.mum), id(w.dad)}, "due_on": {"2026-12-14"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	var copies int64
	a.DB.Gorm.Raw(`SELECT count(DISTINCT person_id) FROM forms WHERE record_id = ?`, w.ellie.ID).Scan(&copies)
	if copies != 2 {
		t.Errorf("%d holders have a copy, want 2", copies)
	}
	for _, p := range []*accounts.Person{w.mum, w.dad} {
		mail := a.LastSent(t, "email", p.Email)
		if mail.Subject != a.T("email_new_form.subject") || strings.Contains(mail.Body, "Ellie") || strings.Contains(mail.Body, "review") {
			t.Errorf("the email to %s: %q\n%s", p.Email, mail.Subject, mail.Body)
		}
	}
	list := w.mumC.Get(records_(w.ellie) + "/forms")
	if !strings.Contains(list.Text(".app-items"), a.T("forms.list.due", "Date", "14 December 2026")) {
		t.Errorf("Items to complete does not show the due date: %q", list.Text(".app-items"))
	}
	if got := worker.Get(staff).Text("#forms + table"); !strings.Contains(got, a.T("staff.form.status_not_started")) {
		t.Errorf("the record page's forms: %q", got)
	}
}

func id(p *accounts.Person) string { return strconv.FormatInt(p.ID, 10) }

func TestAFormKeepsTheTemplateVersionItWasSentWith(t *testing.T) {
	w := newWorld(t)
	version := func(label string) *formdef.Template {
		tpl, err := formdef.Parse([]byte(`key: versioned
title: {en: Versioned, cy: Fersiwn}
pages:
  - title: {en: Only page, cy: Unig dudalen}
    fields:
      - {name: q, type: text, label: {en: "` + label + `", cy: "` + label + `"}}
`))
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	ctx := context.Background()
	if err := w.a.Forms.Sync(ctx, []*formdef.Template{version("First wording")}); err != nil {
		t.Fatal(err)
	}
	old := w.send(t, "versioned", w.ellie, w.mum)
	for i := 0; i < 2; i++ { // the same file again is not a new version
		if err := w.a.Forms.Sync(ctx, []*formdef.Template{version("Second wording")}); err != nil {
			t.Fatal(err)
		}
	}
	var versions int
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM form_templates WHERE key = 'versioned'`).Scan(&versions)
	if versions != 2 {
		t.Errorf("%d versions stored, want 2", versions)
	}
	fresh := w.send(t, "versioned", w.ellie, w.mum)
	if got := w.mumC.Get(old + "/pages/1").Text(`label[for="q"]`); got != "First wording" {
		t.Errorf("the form sent first shows %q, want its own version's wording", got)
	}
	if got := w.mumC.Get(fresh + "/pages/1").Text(`label[for="q"]`); got != "Second wording" {
		t.Errorf("the form sent after the change shows %q", got)
	}
}

// TestAFinalSaveAfterTheEndOnlyKeepsTheAnswers: a page's final save that
// reaches the server just after the session ended (web.FinalSaveGrace)
// keeps what was typed, whatever button it names: it moves nowhere and
// submits nothing.
func TestAFinalSaveAfterTheEndOnlyKeepsTheAnswers(t *testing.T) {
	w := newWorld(t)
	path := w.send(t, "review_contribution", w.ellie, w.mum)
	page := w.mumC.Get(path + "/pages/1")
	w.a.Clock.Advance(web.IdleTimeout + 30*time.Second)
	w.mumC.Header.Set(web.FinalSaveHeader, "1")
	w.mumC.Header.Set("X-Portal-Passive", "1")
	res := post(w.mumC, page, "later", url.Values{"your_name": {"Pat Example"}, "relationship": {"Mum"}})
	if res.StatusCode != http.StatusOK || res.Header.Get("Location") != "" {
		t.Fatalf("Save for later as a final save = %d to %q, want 200 and no move", res.StatusCode, res.Header.Get("Location"))
	}
	w.mumC.Header = http.Header{}
	w.a.SignIn(t, w.mumC, w.mum)
	again := w.mumC.Get(path + "/pages/1")
	if v, _ := again.Doc.Find("#your_name").Attr("value"); v != "Pat Example" {
		t.Errorf("after the final save the name is %q", v)
	}
	var trail int64
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'form.saved'`).Scan(&trail)
	if trail != 0 {
		t.Errorf("the final save acted as Save for later (%d form.saved events)", trail)
	}
}
