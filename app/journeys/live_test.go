package journeys_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/messages"
	"portal/app/uploads/uploadtest"
)

// liveWorld is a thread between mum and the team, on two app machines
// sharing one database: mum on the first, the worker on the second.
type liveWorld struct {
	one, two *apptest.TestApp
	mum      *accounts.Person
	worker   *accounts.Person
	thread   string // the holder's path of the thread
	inbox    string // the worker's
}

func newLiveWorld(t *testing.T) *liveWorld {
	one := newApp(t)
	two := apptest.NewApp(t, apptest.Options{DSN: one.DSN})
	team := one.NewTeam(t, "North Locality Team")
	w := &liveWorld{one: one, two: two, worker: one.NewWorker(t, "worker@example.org", team)}
	ellie := one.NewRecord(t, team, "Ellie", "Smith")
	w.mum = one.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	one.Grant(t, w.mum, ellie, access.Parent)
	store := messages.NewStore(one.DB.Gorm, one.Clock, one.Sealer, nil, nil)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, Active: true}
	if err := store.SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	th := &messages.Thread{RecordID: ellie.ID, HolderID: w.mum.ID, TypeID: ty.ID, TeamID: team.ID, Subject: "For Jo Bloggs", StartedBy: w.mum.ID}
	if err := store.Start(context.Background(), th, &messages.Message{AuthorID: w.mum.ID, Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	w.thread = "/records/" + strconv.FormatInt(ellie.ID, 10) + "/messages/" + strconv.FormatInt(th.ID, 10)
	w.inbox = "/staff/inbox/" + strconv.FormatInt(th.ID, 10)
	return w
}

// TestAReplyAppearsInAnOpenThreadFromAnotherMachine: the worker answers on
// the second app machine; the thread open on the first shows the reply
// without reloading (Postgres LISTEN/NOTIFY, server-sent events).
func TestAReplyAppearsInAnOpenThreadFromAnotherMachine(t *testing.T) {
	w := newLiveWorld(t)
	holder := apptest.NewBrowser(t)
	w.one.SignInBrowser(t, holder, w.mum)
	holder.Visit(w.one.URL + w.thread)
	holder.Axe(t)
	holder.Eval(`window.__loaded = performance.timeOrigin`, nil) // gone if the page reloads

	staff := apptest.NewBrowser(t)
	w.two.SignInBrowser(t, staff, w.worker)
	staff.Visit(w.two.URL + w.inbox)
	// The holder's stream is open once the first has said so (": open").
	holder.WaitFor(`document.querySelector('[sse-connect]') && htmx.find('[sse-connect]')['htmx-internal-data'] &&
	  htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource &&
	  htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource.readyState === 1`, 10*time.Second)
	staff.Fill("#body", "Thank you. I will call you tomorrow.")
	// htmx sends the reply (its upload shows progress) and follows HX-Redirect.
	staff.Click(`form[action$="/reply"] button[type="submit"]`)
	staff.WaitFor(`document.querySelector('.app-thread') !== null && document.querySelector('.app-thread').textContent.includes('I will call you tomorrow')`, 10*time.Second)

	holder.WaitFor(`document.getElementById('thread-messages').textContent.includes('I will call you tomorrow')`, 5*time.Second)
	var same bool
	holder.Eval(`window.__loaded === performance.timeOrigin`, &same)
	if !same {
		t.Error("the page reloaded to show the reply")
	}
	if got := holder.Text("#thread-messages"); !strings.Contains(got, w.worker.GivenName) {
		t.Errorf("the live reply does not name the worker: %q", got)
	}
	holder.AssertClean()
}

// TestTheStreamStopsAfterLogOutOrTheEndOfAccess: a stream open on the
// thread ends when the session does, or the holder's access, and carries
// nothing after.
func TestTheStreamStopsAfterLogOutOrTheEndOfAccess(t *testing.T) {
	for _, end := range []string{"log out", "access revoked"} {
		t.Run("end="+end, func(t *testing.T) {
			w := newLiveWorld(t)
			c := w.one.Client(t)
			w.one.SignIn(t, c, w.mum)
			lines := c.Stream(w.thread+"/stream", nil)
			waitLine(t, lines, func(l string) bool { return strings.HasPrefix(l, ": open") })
			switch end {
			case "log out":
				if err := w.one.Sessions.DestroyAll(context.Background(), w.mum.ID); err != nil {
					t.Fatal(err)
				}
			default:
				// As a worker's "End access" does: the stream hears of it at
				// once (the person event), not at its next heartbeat.
				var g access.Grant
				if err := w.one.DB.Gorm.Where("person_id = ?", w.mum.ID).Take(&g).Error; err != nil {
					t.Fatal(err)
				}
				grants := access.NewStore(w.one.DB.Gorm, w.one.Clock)
				if _, err := grants.Revoke(context.Background(), g.RecordID, g.ID, 0, "Court order"); err != nil {
					t.Fatal(err)
				}
			}
			staff := w.two.Client(t)
			w.two.SignIn(t, staff, w.worker)
			staff.Get(w.inbox)
			staff.PostForm(w.inbox+"/reply", map[string][]string{"body": {"A reply after the end"}})
			if waitLine(t, lines, func(l string) bool { return strings.Contains(l, "after the end") }) {
				t.Fatal("the stream carried a reply after it should have ended")
			}
		})
	}
}

// waitLine reads lines until one matches (true) or the stream ends (false).
func waitLine(t *testing.T, lines <-chan string, match func(string) bool) bool {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if match(l) {
				return true
			}
		case <-deadline:
			t.Fatal("the stream said nothing for 10 s")
		}
	}
}

// TestTheDashboardCountUpdatesLive: a reply, a document and a form, each
// sent from the other machine, are counted on their tiles of the
// dashboard already open, without reloading.
func TestTheDashboardCountUpdatesLive(t *testing.T) {
	w := newLiveWorld(t)
	holder := apptest.NewBrowser(t)
	w.one.SignInBrowser(t, holder, w.mum)
	holder.Visit(w.one.URL + w.thread[:strings.Index(w.thread, "/messages")])
	if got := holder.Text("#count-messages"); got != w.one.T("records.count.messages_none") {
		t.Fatalf("the tile starts with %q", got)
	}
	holder.Eval(`window.__loaded = performance.timeOrigin`, nil)
	holder.WaitFor(`htmx.find('[sse-connect]')['htmx-internal-data'] && htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource &&
	  htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource.readyState === 1`, 10*time.Second)
	staff := w.two.Client(t)
	w.two.SignIn(t, staff, w.worker)
	staff.Get(w.inbox)
	staff.PostForm(w.inbox+"/reply", map[string][]string{"body": {"Thank you."}})
	want := w.one.T("records.count.messages", "N", 1)
	holder.WaitFor(`document.getElementById('count-messages').textContent.trim() === `+jsString(want), 5*time.Second)

	record := w.thread[:strings.Index(w.thread, "/messages")]
	staffRecord := "/staff" + record
	staff.Get(staffRecord + "/documents/new")
	res := staff.PostMultipart(staffRecord+"/documents", apptest.Part{Name: "title", Value: "Plan"},
		apptest.Part{Name: "kind", Value: "plan"}, apptest.Part{Name: "recipients", Value: strconv.FormatInt(w.mum.ID, 10)},
		apptest.Part{Name: "file", FileName: "plan.pdf", Body: uploadtest.PDF(2000, "")})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the document = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	want = w.one.T("records.count.documents", "N", 1)
	holder.WaitFor(`document.getElementById('count-documents').textContent.trim() === `+jsString(want), 5*time.Second)
	latest, err := w.two.Forms.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recordID, _ := strconv.ParseInt(record[strings.LastIndex(record, "/")+1:], 10, 64)
	if _, err := w.two.Forms.Send(context.Background(), w.two.DB.Gorm, latest[0].ID, recordID, []int64{w.mum.ID}, nil, w.worker.ID); err != nil {
		t.Fatal(err)
	}
	want = w.one.T("records.count.forms", "N", 1)
	holder.WaitFor(`document.getElementById('count-forms').textContent.trim() === `+jsString(want), 5*time.Second)
	var same bool
	holder.Eval(`window.__loaded === performance.timeOrigin`, &same)
	if !same {
		t.Error("the dashboard reloaded to show the count")
	}
	holder.Axe(t)
	holder.AssertClean()
}

// TestLiveRepliesSurviveMovingBetweenPages: a parent goes Dashboard → New
// messages → the thread five times in a row and stays on the thread; a
// page just left no longer holds a stream the new one needs, so the reply
// the worker sends then appears within seconds, without a reload.
func TestLiveRepliesSurviveMovingBetweenPages(t *testing.T) {
	w := newLiveWorld(t)
	holder := apptest.NewBrowser(t)
	w.one.SignInBrowser(t, holder, w.mum)
	dashboard := w.thread[:strings.Index(w.thread, "/messages")]
	for range 5 {
		holder.Visit(w.one.URL + dashboard)
		holder.Visit(w.one.URL + dashboard + "/messages")
		holder.Visit(w.one.URL + w.thread)
	}
	holder.Eval(`window.__loaded = performance.timeOrigin`, nil)
	holder.WaitFor(`htmx.find('[sse-connect]')['htmx-internal-data'] && htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource &&
	  htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource.readyState === 1`, 15*time.Second)
	staff := w.two.Client(t)
	w.two.SignIn(t, staff, w.worker)
	staff.Get(w.inbox)
	staff.PostForm(w.inbox+"/reply", map[string][]string{"body": {"Thank you, noted."}})
	holder.WaitFor(`document.getElementById('thread-messages').textContent.includes('Thank you, noted.')`, 10*time.Second)
	var same bool
	holder.Eval(`window.__loaded === performance.timeOrigin`, &same)
	if !same {
		t.Error("the page reloaded to show the reply")
	}
}

// TestAStreamSendsWhatThePageLacks: a page names the last message it shows
// (?after=, and Last-Event-ID when the browser reconnects); the stream
// sends at once every message after it, so a reply that came between the
// page and its stream is not lost, and each event says where the page now
// is (its id).
func TestAStreamSendsWhatThePageLacks(t *testing.T) {
	w := newLiveWorld(t)
	c := w.one.Client(t)
	w.one.SignIn(t, c, w.mum)
	page := c.Get(w.thread)
	connect, _ := page.Doc.Find("[sse-connect]").Attr("sse-connect")
	staff := w.two.Client(t)
	w.two.SignIn(t, staff, w.worker)
	staff.Get(w.inbox)
	staff.PostForm(w.inbox+"/reply", map[string][]string{"body": {"A reply before the stream opened"}})

	lines := c.Stream(connect, nil)
	if !waitLine(t, lines, func(l string) bool { return strings.Contains(l, "A reply before the stream opened") }) {
		t.Fatal("the stream did not send the reply the page lacked")
	}
	var id string
	waitLine(t, lines, func(l string) bool { id, _ = strings.CutPrefix(l, "id: "); return strings.HasPrefix(l, "id: ") })
	if n, err := strconv.Atoi(id); err != nil || n < 2 {
		t.Fatalf("the event's id is %q, want the reply's message id", id)
	}
	// A browser that reconnects with that id gets nothing old again.
	again := c.Stream(connect, http.Header{"Last-Event-ID": {id}})
	staff.Get(w.inbox)
	staff.PostForm(w.inbox+"/reply", map[string][]string{"body": {"A second reply"}})
	var old bool
	waitLine(t, again, func(l string) bool {
		old = old || strings.Contains(l, "before the stream opened")
		return strings.Contains(l, "A second reply")
	})
	if old {
		t.Error("a reconnecting stream sent a message the page already had")
	}
}

// TestEndingAccessClosesTheHoldersOpenPage: the worker ends the holder's
// access while the holder has the thread open; the page leaves the screen
// within seconds (its stream ends, the page asks and reloads), without the
// holder doing anything.
func TestEndingAccessClosesTheHoldersOpenPage(t *testing.T) {
	w := newLiveWorld(t)
	holder := apptest.NewBrowser(t)
	w.one.SignInBrowser(t, holder, w.mum)
	holder.Visit(w.one.URL + w.thread)
	holder.WaitFor(`htmx.find('[sse-connect]')['htmx-internal-data'] && htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource &&
	  htmx.find('[sse-connect]')['htmx-internal-data'].sseEventSource.readyState === 1`, 15*time.Second)
	record := w.thread[:strings.Index(w.thread, "/messages")]
	staff := w.two.Client(t)
	w.two.SignIn(t, staff, w.worker)
	page := staff.Get("/staff" + record)
	end, _ := page.Doc.Find(`a[href*="/grants/"][href$="/end"]`).Attr("href")
	staff.Get(end)
	if res := staff.PostForm(end, map[string][]string{"reason": {"Court order"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("End access = %d", res.StatusCode)
	}
	holder.WaitFor(`!document.getElementById('thread-messages') && document.readyState === 'complete'`, 15*time.Second)
	if got, want := holder.Text("main h1"), w.one.T("errors.not_found.title"); got != want {
		t.Errorf("the page now says %q, want %q", got, want)
	}
}
