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
	"portal/app/records"
	"portal/app/web"
)

func TestMain(m *testing.M) { apptest.Main(m) }

type world struct {
	a                  *apptest.TestApp
	store              *messages.Store
	ellie, sam         *records.Record
	mum, dad, other    *accounts.Person
	worker             *accounts.Person
	mumC, dadC, otherC *apptest.Client
	toWorker, toDuty   *messages.Type
}

// newWorld builds the world on an app made with o (at most one; none is
// apptest's defaults).
func newWorld(t *testing.T, o ...apptest.Options) *world {
	a := apptest.NewApp(t, append(o, apptest.Options{})[0])
	locality, duty := a.NewTeam(t, "North Locality Team"), a.NewTeam(t, "Duty Team")
	w := &world{a: a, store: messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil),
		ellie: a.NewRecord(t, locality, "Ellie", "Smith"), sam: a.NewRecord(t, locality, "Sam", "Jones")}
	w.worker = a.NewWorker(t, "worker@example.org", locality)
	a.NewWorker(t, "duty@example.org", duty)
	w.mum = a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	w.dad = a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	w.other = a.NewPerson(t, "other@example.net", accounts.RoleCitizen, "")
	a.Grant(t, w.mum, w.ellie, access.Parent)
	a.Grant(t, w.dad, w.ellie, access.Parent)
	a.Grant(t, w.other, w.sam, access.Parent)
	w.mumC, w.dadC, w.otherC = a.Client(t), a.Client(t), a.Client(t)
	a.SignIn(t, w.mumC, w.mum)
	a.SignIn(t, w.dadC, w.dad)
	a.SignIn(t, w.otherC, w.other)
	w.toWorker = &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: locality.ID, NameWorker: true, Active: true}
	w.toDuty = &messages.Type{NameEN: "Report a change", NameCY: "Rhoi gwybod am newid", TeamID: duty.ID, Active: true, Position: 1}
	for _, ty := range []*messages.Type{w.toWorker, w.toDuty} {
		if err := w.store.SaveType(context.Background(), ty); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func rec(r *records.Record) string { return "/records/" + strconv.FormatInt(r.ID, 10) }

// send sends a new message as c on r and returns the thread's path.
func (w *world) send(t *testing.T, c *apptest.Client, r *records.Record, ty *messages.Type, subject, body string) string {
	t.Helper()
	c.Get(rec(r) + "/messages/new")
	res := c.PostForm(rec(r)+"/messages/new", url.Values{"type": {strconv.FormatInt(ty.ID, 10)}, "subject": {subject}, "body": {body}, "action": {"send"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	return res.Header.Get("Location")
}

func TestAMessageGoesToTheTeamItsTypeNames(t *testing.T) {
	w := newWorld(t)
	page := w.mumC.Get(rec(w.ellie) + "/messages/new")
	if !strings.Contains(page.Text(".govuk-warning-text"), "0344 800 8020") {
		t.Errorf("no warning about urgent matters before the form: %q", page.Text(".govuk-warning-text"))
	}
	if page.Doc.Find(`select#type option[value="`+strconv.FormatInt(w.toDuty.ID, 10)+`"]`).Length() != 1 {
		t.Fatal("the Message Type list lacks a type")
	}
	chosen := w.mumC.PostForm(rec(w.ellie)+"/messages/new", url.Values{"type": {strconv.FormatInt(w.toWorker.ID, 10)}, "action": {"choose"}})
	if !strings.Contains(chosen.Text("#subject-hint"), "first and last name") {
		t.Errorf("Message your worker does not ask for the worker's name: %q", chosen.Text("#subject-hint"))
	}
	path := w.send(t, w.mumC, w.ellie, w.toDuty, "Moving house", "We move on Friday.")
	id, _ := strconv.ParseInt(path[strings.LastIndex(path, "/")+1:], 10, 64)
	th, err := w.store.HolderThread(context.Background(), w.mum.ID, w.ellie.ID, id)
	if err != nil || th.TeamID != w.toDuty.TeamID {
		t.Fatalf("the thread went to team %d, want the Duty Team %d (%v)", th.TeamID, w.toDuty.TeamID, err)
	}
	mail := w.a.LastSent(t, "email", "duty@example.org")
	if mail.Subject != w.a.T("email_new_message.subject") || strings.Contains(mail.Body, "Moving") || strings.Contains(mail.Body, "Ellie") {
		t.Errorf("the duty team's email: %q\n%s", mail.Subject, mail.Body)
	}
	var sealed string
	w.a.DB.Gorm.Raw(`SELECT body FROM messages`).Scan(&sealed)
	if strings.Contains(sealed, "Friday") {
		t.Error("the message is not sealed at rest")
	}
}

func TestAnotherHoldersOrRecordsThreadIsTheSame404(t *testing.T) {
	w := newWorld(t)
	mums := w.send(t, w.mumC, w.ellie, w.toWorker, "For Jo Bloggs", "Hello")
	others := w.send(t, w.otherC, w.sam, w.toWorker, "Sam's", "Hello")
	othersID := others[strings.LastIndex(others, "/")+1:]
	missing := w.mumC.Get(rec(w.ellie) + "/messages/999999")
	for name, try := range map[string]func() *apptest.Response{
		"a co-holder reads": func() *apptest.Response { return w.dadC.Get(mums) },
		"a co-holder replies": func() *apptest.Response {
			w.dadC.Get(rec(w.ellie) + "/messages") // a page, for its CSRF token
			return w.dadC.PostForm(mums, url.Values{"body": {"x"}})
		},
		"another record's thread under mine": func() *apptest.Response { return w.mumC.Get(rec(w.ellie) + "/messages/" + othersID) },
		"another record's thread":            func() *apptest.Response { return w.mumC.Get(others) },
		"a reply to another record's thread": func() *apptest.Response {
			w.mumC.Get(rec(w.ellie) + "/messages")
			return w.mumC.PostForm(rec(w.ellie)+"/messages/"+othersID, url.Values{"body": {"x"}})
		},
	} {
		res := try()
		if res.StatusCode != http.StatusNotFound || res.Text("h1") != missing.Text("h1") {
			t.Errorf("%s = %d %q, want the 404 of a missing thread", name, res.StatusCode, res.Text("h1"))
		}
	}
	if list := w.dadC.Get(rec(w.ellie) + "/messages"); strings.Contains(list.Body, "For Jo Bloggs") {
		t.Error("a co-holder's list shows mum's thread")
	}
}

func TestAFiftyThousandCharacterMessageRoundTrips(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("Mae'n braf gweld ŵyr ac ŷd. ", 2000)[:0]
	for len([]rune(long)) < 50000 {
		long += "Mae'n braf gweld ŵyr ac ŷd. "
	}
	long = string([]rune(long)[:50000])
	path := w.send(t, w.mumC, w.ellie, w.toWorker, "A long one", long)
	page := w.mumC.Get(path)
	if got := page.Doc.Find(".app-thread__message .app-answer").First().Text(); got != strings.TrimSpace(long) {
		t.Errorf("the message came back with %d characters, want 50,000 intact", len([]rune(got)))
	}
	w.mumC.Get(rec(w.ellie) + "/messages/new")
	res := w.mumC.PostForm(rec(w.ellie)+"/messages/new", url.Values{"type": {strconv.FormatInt(w.toWorker.ID, 10)},
		"subject": {"Too long"}, "body": {long + "x"}, "action": {"send"}})
	if res.StatusCode != http.StatusUnprocessableEntity || res.Doc.Find(`.govuk-error-summary a[href="#body"]`).Length() == 0 {
		t.Errorf("50,001 characters = %d", res.StatusCode)
	}
	if got := res.Doc.Find("#body").Text(); got != long+"x" {
		t.Errorf("the too-long message was not given back whole (%d characters)", len([]rune(got)))
	}
}

func TestADraftComesBackAndGoesWhenSent(t *testing.T) {
	w := newWorld(t)
	w.mumC.Get(rec(w.ellie) + "/messages/new")
	w.mumC.Header.Set("X-Portal-Passive", "1")
	res := w.mumC.PostForm(rec(w.ellie)+"/messages/draft", url.Values{"type": {strconv.FormatInt(w.toWorker.ID, 10)},
		"subject": {"For Jo Bloggs"}, "body": {"Half of what I wanted to say"}})
	w.mumC.Header.Del("X-Portal-Passive")
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("saving a draft = %d", res.StatusCode)
	}
	again := w.a.Client(t) // a new sign-in, another device
	w.a.SignIn(t, again, w.mum)
	page := again.Get(rec(w.ellie) + "/messages/new")
	if page.Doc.Find("#body").Text() != "Half of what I wanted to say" || page.Doc.Find("#subject").AttrOr("value", "") != "For Jo Bloggs" {
		t.Fatalf("the draft did not come back: %q", page.Doc.Find("#body").Text())
	}
	if page.Doc.Find(`select#type option[selected]`).AttrOr("value", "") != strconv.FormatInt(w.toWorker.ID, 10) {
		t.Error("the draft's type did not come back")
	}
	if dad := w.dadC.Get(rec(w.ellie) + "/messages/new"); dad.Doc.Find("#body").Text() != "" {
		t.Error("a co-holder sees mum's draft")
	}
	w.send(t, again, w.ellie, w.toWorker, "For Jo Bloggs", "All of it")
	if after := again.Get(rec(w.ellie) + "/messages/new"); after.Doc.Find("#body").Text() != "" {
		t.Error("the draft stays after sending")
	}
}

func TestACouncilReplyIsUnreadUntilOpened(t *testing.T) {
	w := newWorld(t)
	path := w.send(t, w.mumC, w.ellie, w.toWorker, "For Jo Bloggs", "Hello")
	id, _ := strconv.ParseInt(path[strings.LastIndex(path, "/")+1:], 10, 64)
	th, err := w.store.HolderThread(context.Background(), w.mum.ID, w.ellie.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.Reply(context.Background(), th, &messages.Message{AuthorID: w.worker.ID, FromStaff: true, Body: "Thank you, noted."}); err != nil {
		t.Fatal(err)
	}
	if got := w.mumC.Get(rec(w.ellie)).Text("#count-messages"); got != w.a.T("records.count.messages", "N", 1) {
		t.Errorf("the New messages tile says %q", got)
	}
	list := w.mumC.Get(rec(w.ellie) + "/messages")
	if list.Doc.Find(".app-items__item--new").Length() != 1 {
		t.Error("the thread with a reply is not bold")
	}
	page := w.mumC.Get(path)
	if !strings.Contains(page.Text(".app-thread"), "Thank you, noted.") || !strings.Contains(page.Text(".app-thread"), w.worker.GivenName) {
		t.Errorf("the thread: %q", page.Text(".app-thread"))
	}
	if got := w.mumC.Get(rec(w.ellie)).Text("#count-messages"); got != w.a.T("records.count.messages_none") {
		t.Errorf("after reading, the tile says %q", got)
	}
	res := w.mumC.PostForm(path, url.Values{"body": {"Thanks"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply = %d", res.StatusCode)
	}
	if !strings.Contains(w.mumC.Get(path).Text(".app-thread"), "Thanks") {
		t.Error("the reply is not in the thread")
	}
}

func TestTheTeamInboxReadsRepliesAssignsAndHandles(t *testing.T) {
	w := newWorld(t)
	a := w.a
	path := w.send(t, w.mumC, w.ellie, w.toDuty, "Moving house", "We move on Friday.")
	id := path[strings.LastIndex(path, "/")+1:]
	duty, locality := a.Client(t), a.Client(t)
	dutyWorker, err := accounts.NewStore(a.DB.Gorm).ByEmail(context.Background(), "duty@example.org")
	if err != nil {
		t.Fatal(err)
	}
	a.SignIn(t, duty, dutyWorker)
	a.SignIn(t, locality, w.worker)

	inbox := duty.Get("/staff/inbox")
	if !strings.Contains(inbox.Text("table"), "Moving house") || !strings.Contains(inbox.Text("table"), "Ellie Smith") {
		t.Fatalf("the duty team's inbox: %q", inbox.Text("main"))
	}
	if res := locality.Get("/staff/inbox/" + id); res.StatusCode != http.StatusNotFound {
		t.Errorf("another team reads the thread: %d", res.StatusCode)
	}
	if strings.Contains(locality.Get("/staff/inbox").Body, "Moving house") {
		t.Error("the thread shows in another team's inbox")
	}
	thread := duty.Get("/staff/inbox/" + id)
	if !strings.Contains(thread.Text("main"), w.mum.GivenName) || !strings.Contains(thread.Text("main"), "We move on Friday.") {
		t.Fatalf("the thread for staff: %q", thread.Text("main"))
	}
	if res := duty.PostForm("/staff/inbox/"+id+"/reply", url.Values{"body": {"Thank you. Please send the new address."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply = %d", res.StatusCode)
	}
	mail := a.LastSent(t, "email", w.mum.Email)
	if mail.Subject != a.T("email_new_message.subject") || strings.Contains(mail.Body, "address") {
		t.Errorf("the holder's email: %q", mail.Subject)
	}
	if !strings.Contains(w.mumC.Get(path).Text(".app-thread"), "Please send the new address") {
		t.Error("the holder does not see the reply")
	}
	duty.Get("/staff/inbox/" + id)
	if res := duty.PostForm("/staff/inbox/"+id+"/assign", url.Values{"worker": {strconv.FormatInt(dutyWorker.ID, 10)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign = %d", res.StatusCode)
	}
	if !strings.Contains(duty.Get("/staff/inbox?show=mine").Body, "Moving house") {
		t.Error("the assigned thread is not in Assigned to me")
	}
	if res := duty.PostForm("/staff/inbox/"+id+"/assign", url.Values{"worker": {strconv.FormatInt(w.worker.ID, 10)}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("assigning to another team's worker = %d", res.StatusCode)
	}
	duty.Get("/staff/inbox/" + id)
	duty.PostForm("/staff/inbox/"+id+"/handled", nil)
	if strings.Contains(duty.Get("/staff/inbox").Body, "Moving house") || !strings.Contains(duty.Get("/staff/inbox?show=handled").Body, "Moving house") {
		t.Error("a handled thread is still open")
	}
	w.mumC.PostForm(path, url.Values{"body": {"The address is 1 New Street."}})
	if !strings.Contains(duty.Get("/staff/inbox").Body, "Moving house") {
		t.Error("the holder's new message did not reopen the handled thread")
	}
}

func TestPortalAdminsManageMessageTypes(t *testing.T) {
	w := newWorld(t)
	a := w.a
	admin := a.Client(t)
	a.SignIn(t, admin, a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin))
	worker := a.Client(t)
	a.SignIn(t, worker, w.worker)
	if res := worker.Get("/staff/admin/message-types"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a worker reaches the message types: %d", res.StatusCode)
	}
	admin.Get("/staff/admin/message-types")
	team := strconv.FormatInt(w.toWorker.TeamID, 10)
	if res := admin.PostForm("/staff/admin/message-types", url.Values{"team": {team}, "active": {"yes"}}); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Doc.Find(`.govuk-error-summary a[href="#name_en"]`).Length() == 0 {
		t.Errorf("a type without names = %d", res.StatusCode)
	}
	res := admin.PostForm("/staff/admin/message-types", url.Values{"name_en": {"Ask about contact"}, "name_cy": {"Gofyn am gyswllt"},
		"team": {team}, "active": {"yes"}, "position": {"5"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a type = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	page := w.mumC.Get(rec(w.ellie) + "/messages/new?lang=cy")
	if !strings.Contains(page.Text("select#type"), "Gofyn am gyswllt") {
		t.Errorf("the new type is not offered (in Welsh): %q", page.Text("select#type"))
	}
	// Hidden: no longer offered.
	list := admin.Get("/staff/admin/message-types")
	edit, _ := list.Doc.Find(`a[href*="edit="]`).Last().Attr("href")
	form := admin.Get(edit)
	id, _ := form.Doc.Find(`input[name="id"]`).Attr("value")
	admin.PostForm("/staff/admin/message-types", url.Values{"id": {id}, "name_en": {"Ask about contact"}, "name_cy": {"Gofyn am gyswllt"},
		"team": {team}, "position": {"5"}})
	if strings.Contains(w.mumC.Get(rec(w.ellie)+"/messages/new?lang=cy").Text("select#type"), "Gofyn am gyswllt") {
		t.Error("a hidden type is still offered")
	}
	// A type that is a form is shown by the form's name, not its key.
	res = admin.PostForm("/staff/admin/message-types", url.Values{"name_en": {"Recording"}, "name_cy": {"Cofnod"},
		"team": {team}, "active": {"yes"}, "form": {"foster_carer_recording"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a form type = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	list = admin.Get("/staff/admin/message-types")
	if got := list.Text("table"); strings.Contains(got, "foster_carer_recording") || !strings.Contains(got, "Foster carer recording") {
		t.Errorf("the list shows the form as %q", got)
	}
	if got := list.Text("select#form"); strings.Contains(got, "foster_carer_recording") || !strings.Contains(got, "Foster carer recording") {
		t.Errorf("the choice of forms is %q", got)
	}
}

func TestAWorkerStartsAThreadWithAChosenHolder(t *testing.T) {
	w := newWorld(t)
	a := w.a
	worker := a.Client(t)
	a.SignIn(t, worker, w.worker)
	staff := "/staff/records/" + strconv.FormatInt(w.ellie.ID, 10)
	page := worker.Get(staff + "/messages/new")
	if page.Doc.Find("input:checked").Length() != 0 {
		t.Error("a holder is chosen before the worker chose one")
	}
	form := url.Values{"type": {strconv.FormatInt(w.toWorker.ID, 10)}, "subject": {"Review meeting"}, "body": {"The review is on 14 December."}}
	if res := worker.PostForm(staff+"/messages", form); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("no holder chosen = %d", res.StatusCode)
	}
	form.Set("holder", strconv.FormatInt(w.other.ID, 10))
	if res := worker.PostForm(staff+"/messages", form); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("another record's holder = %d", res.StatusCode)
	}
	form.Set("holder", strconv.FormatInt(w.dad.ID, 10))
	res := worker.PostForm(staff+"/messages", form)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/staff/inbox/") {
		t.Fatalf("send = %d %q: %s", res.StatusCode, res.Header.Get("Location"), res.Text(".govuk-error-summary"))
	}
	if a.LastSent(t, "email", w.dad.Email).Subject != a.T("email_new_message.subject") {
		t.Error("dad was not emailed")
	}
	if !strings.Contains(w.dadC.Get(rec(w.ellie)+"/messages").Text(".app-items"), "Review meeting") {
		t.Error("dad does not see the thread")
	}
	if strings.Contains(w.mumC.Get(rec(w.ellie)+"/messages").Body, "Review meeting") {
		t.Error("mum sees a thread with dad")
	}
}

func TestARecordingSentThroughItsTypeReachesTheSupervisingTeamWithItsFields(t *testing.T) {
	w := newWorld(t)
	a := w.a
	fostering := a.NewTeam(t, "Fostering Team")
	supervisor := a.NewWorker(t, "supervisor@example.org", fostering)
	key := "foster_carer_recording"
	recording := &messages.Type{NameEN: "Foster carer recording", NameCY: "Cofnod gofalwr maeth", TeamID: fostering.ID, FormKey: &key, Active: true}
	if err := w.store.SaveType(context.Background(), recording); err != nil {
		t.Fatal(err)
	}
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, w.ellie, access.FosterCarer)
	c := a.Client(t)
	a.SignIn(t, c, carer)
	c.Get(rec(w.ellie) + "/messages/new")
	chosen := c.PostForm(rec(w.ellie)+"/messages/new", url.Values{"type": {strconv.FormatInt(recording.ID, 10)}, "action": {"choose"}})
	if chosen.Doc.Find("#narrative").Length() != 1 || chosen.Doc.Find("#body").Length() != 0 {
		t.Fatal("choosing the recording type does not show the recording's fields instead of a message")
	}
	fields := url.Values{"type": {strconv.FormatInt(recording.ID, 10)}, "action": {"send"}, "event_date": {"2026-11-22"},
		"children": {"Ellie"}, "category": {"health"}, "worker_to_act": {"yes"}}
	if res := c.PostForm(rec(w.ellie)+"/messages/new", fields); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Doc.Find(`.govuk-error-summary a[href="#narrative"]`).Length() == 0 {
		t.Fatalf("a recording without its narrative = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	fields.Set("narrative", "Ellie had a nosebleed at school; the nurse called me.")
	res := c.PostForm(rec(w.ellie)+"/messages/new", fields)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	staff := a.Client(t)
	a.SignIn(t, staff, supervisor)
	inbox := staff.Get("/staff/inbox")
	link, _ := inbox.Doc.Find(`table a[href^="/staff/inbox/"]`).Attr("href")
	if link == "" {
		t.Fatalf("the recording is not in the fostering team's inbox: %q", inbox.Text("main"))
	}
	thread := staff.Get(link)
	for _, want := range []string{"Date it happened", "22 November 2026", "Ellie had a nosebleed at school", "Health"} {
		if !strings.Contains(thread.Text(".app-thread"), want) {
			t.Errorf("the supervising team does not see %q: %q", want, thread.Text(".app-thread"))
		}
	}
	if got, want := thread.Text(".govuk-summary-list"), a.T("records.relationship.foster_carer"); !strings.Contains(got, want) {
		t.Errorf("the thread does not say the sender is a %s: %q", want, got)
	}
	if strings.Contains(w.mumC.Get(rec(w.ellie)+"/messages").Body, "Foster carer recording") {
		t.Error("a co-holder sees the carer's recording")
	}

	// A parent is neither offered the recording nor can send one.
	page := w.mumC.Get(rec(w.ellie) + "/messages/new")
	if page.Doc.Find(`select#type option[value="`+strconv.FormatInt(recording.ID, 10)+`"]`).Length() != 0 {
		t.Error("a parent is offered the foster carer recording")
	}
	fields.Set("event_time", "no")
	fields.Del("_csrf") // the carer's, from the posts above
	if res := w.mumC.PostForm(rec(w.ellie)+"/messages/new", fields); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Doc.Find(`.govuk-error-summary a[href="#type"]`).Length() == 0 {
		t.Errorf("a parent's recording = %d: %q, want 422 asking for a type", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	var threads int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM threads WHERE holder_id = ?`, w.mum.ID).Scan(&threads)
	if threads != 0 {
		t.Errorf("the parent's recording made %d threads", threads)
	}
	// The carer's time must be a time.
	fields.Del("_csrf")
	if res := c.PostForm(rec(w.ellie)+"/messages/new", fields); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Doc.Find(`.govuk-error-summary a[href="#event_time"]`).Length() == 0 {
		t.Errorf("a recording at the time \"no\" = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
}

func TestTheUrgentNumberComesFromConfiguration(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{Configure: func(c *config.Config) { c.ServicePhone = "01632 960 123" }})
	team := a.NewTeam(t, "Team")
	r := a.NewRecord(t, team, "Ellie", "Smith")
	p := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, p, r, access.Parent)
	c := a.Client(t)
	a.SignIn(t, c, p)
	if got := c.Get(rec(r) + "/messages/new").Text(".govuk-warning-text"); !strings.Contains(got, "01632 960 123") {
		t.Errorf("the warning gives %q, not the configured number", got)
	}
}

// TestAFinalSaveIsTakenJustAfterTheEndAndNothingElse: the save the idle
// countdown sends 30 seconds before the end may arrive after it on a slow
// line. Within web.FinalSaveGrace it keeps the draft; it revives nothing,
// opens no other route, and a save without the mark, or later, is refused.
func TestAFinalSaveIsTakenJustAfterTheEndAndNothingElse(t *testing.T) {
	w := newWorld(t)
	w.mumC.Get(rec(w.ellie) + "/messages/new")
	draft := func(body string) url.Values {
		return url.Values{"type": {strconv.FormatInt(w.toWorker.ID, 10)}, "subject": {"For Jo Bloggs"}, "body": {body}}
	}
	body := func() string {
		d, err := w.store.DraftOf(context.Background(), w.mum.ID, w.ellie.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d.Body
	}
	// Each try carries the cookie as the page's requests did; an answer
	// after the end clears it, which a request already sent never sees.
	token := w.mumC.Cookie(w.a.Sessions.CookieName)
	try := func(path string, form url.Values, final bool) *apptest.Response {
		w.mumC.SetCookie(w.a.Sessions.CookieName, token)
		w.mumC.Header = http.Header{"X-Portal-Passive": {"1"}}
		if final {
			w.mumC.Header.Set(web.FinalSaveHeader, "1")
		}
		return w.mumC.PostForm(path, form)
	}
	w.a.Clock.Advance(web.IdleTimeout + 30*time.Second)

	if res := try(rec(w.ellie)+"/messages/draft", draft("sent before the end"), true); res.StatusCode != http.StatusNoContent {
		t.Fatalf("the final save 30 s after the end = %d, want 204", res.StatusCode)
	}
	if got := body(); got != "sent before the end" {
		t.Errorf("the draft is %q", got)
	}
	if res := try(rec(w.ellie)+"/messages/draft", draft("without the mark"), false); res.StatusCode == http.StatusNoContent || body() != "sent before the end" {
		t.Errorf("an ordinary save after the end = %d, draft %q", res.StatusCode, body())
	}
	// Security: the mark opens the draft routes only, and revives nothing.
	send := draft("sent before the end")
	send.Set("action", "send")
	if res := try(rec(w.ellie)+"/messages/new", send, true); res.StatusCode < 400 && res.Header.Get("Location") != "/session/timeout" {
		t.Errorf("sending with the mark after the end = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var threads int64
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM threads`).Scan(&threads)
	if threads != 0 {
		t.Errorf("%d threads were sent after the end", threads)
	}
	w.mumC.SetCookie(w.a.Sessions.CookieName, token)
	if res := w.mumC.Get("/session/status"); !strings.Contains(res.Body, `"signed_in":false`) {
		t.Errorf("after a final save the session is %s", res.Body)
	}
	w.a.Clock.Advance(web.FinalSaveGrace)
	if res := try(rec(w.ellie)+"/messages/draft", draft("too late"), true); res.StatusCode == http.StatusNoContent || body() != "sent before the end" {
		t.Errorf("a final save after the grace = %d, draft %q", res.StatusCode, body())
	}
}

// TestAHolderSendsOnlySoManyMessagesAndTheTeamIsNotFlooded: every message
// used to email the whole team; now a thread tells the team at most once a
// quarter of an hour, and a holder sends at most 20 messages an hour, told
// when they can send again, with what they wrote kept.
func TestAHolderSendsOnlySoManyMessagesAndTheTeamIsNotFlooded(t *testing.T) {
	w := newWorld(t)
	a := w.a
	emails := func() int64 {
		a.LastSent(t, "email", "") // runs the queue
		var n int64
		a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE recipient = 'worker@example.org' AND subject = ?`,
			a.T("email_new_message.subject")).Scan(&n)
		return n
	}
	thread := w.send(t, w.mumC, w.ellie, w.toWorker, "Tuesday", "One")
	for i := 2; i <= 5; i++ {
		w.mumC.Get(thread)
		if res := w.mumC.PostForm(thread, url.Values{"body": {"More " + strconv.Itoa(i)}}); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), thread) {
			t.Fatalf("reply %d = %d", i, res.StatusCode)
		}
	}
	if n := emails(); n != 1 {
		t.Errorf("five messages in a thread within minutes emailed the worker %d times, want once", n)
	}
	a.Clock.Advance(15 * time.Minute)
	a.SignIn(t, w.mumC, w.mum) // the idle timeout ended the last sign-in
	w.mumC.Get(thread)
	if res := w.mumC.PostForm(thread, url.Values{"body": {"A quarter of an hour later"}}); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), thread) {
		t.Fatalf("the 6th message = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if n := emails(); n != 2 {
		t.Errorf("after a quarter of an hour the worker has %d emails, want 2", n)
	}

	for i := 7; i <= 20; i++ {
		w.mumC.Get(thread)
		if res := w.mumC.PostForm(thread, url.Values{"body": {"Again " + strconv.Itoa(i)}}); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), thread) {
			t.Fatalf("message %d = %d", i, res.StatusCode)
		}
	}
	w.mumC.Get(thread)
	res := w.mumC.PostForm(thread, url.Values{"body": {"The 21st, kept"}})
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(res.Text(".govuk-error-summary"), a.T("messages.new.error_limit", "Time", "10:00")) {
		t.Fatalf("the 21st message in an hour = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	if got := res.Text("#body"); got != "The 21st, kept" {
		t.Errorf("the refused message came back as %q", got)
	}
	w.mumC.Get(rec(w.ellie) + "/messages/new")
	res = w.mumC.PostForm(rec(w.ellie)+"/messages/new", url.Values{"type": {strconv.FormatInt(w.toWorker.ID, 10)},
		"subject": {"New"}, "body": {"A new thread is a message too"}, "action": {"send"}})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a new thread over the limit = %d, want 429", res.StatusCode)
	}
}
