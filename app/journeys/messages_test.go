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
	"portal/app/messages"
	"portal/app/web"
)

// TestSendingAMessageAndReadingTheReply follows guide 000's "Sending a
// message": from the dashboard to New messages, New Message, the type, the
// subject with the worker's name, Send; the worker answers from the team
// inbox; the reply is in the thread with the worker's name. On the way the
// draft survives an idle sign-out (guide 002).
func TestSendingAMessageAndReadingTheReply(t *testing.T) {
	a := newApp(t)
	f := newFamily(t, a)
	team, worker, ellie, mum := f.team, f.worker, f.ellie, f.mum
	toWorker := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, NameWorker: true, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).SaveType(context.Background(), toWorker); err != nil {
		t.Fatal(err)
	}
	record := "/records/" + strconv.FormatInt(ellie.ID, 10)

	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, mum)
	b.Visit(a.URL + record)
	b.ClickAndWait(`.app-tile[href$="/messages"]`)
	b.Axe(t)
	b.ClickAndWait(`a[href$="/messages/new"]`)
	b.Axe(t)
	assertReflows(t, b)
	if !strings.Contains(b.Text(".govuk-warning-text"), "0344 800 8020") {
		t.Errorf("no urgent-matters warning: %q", b.Text(".govuk-warning-text"))
	}
	b.Eval(`(() => { const s = document.getElementById('type'); s.value = '`+strconv.FormatInt(toWorker.ID, 10)+`';
	  s.dispatchEvent(new Event('change', {bubbles: true})) })()`, nil)
	b.WaitFor(`document.getElementById('subject-hint').textContent.includes('first and last name')`, 10*time.Second)
	b.Fill("#subject", "For Jo Bloggs")
	// The last words are in the field but not saved yet: only the save
	// before the idle sign-out can keep them.
	b.Eval(`document.getElementById('body').value = 'Ellie has a dentist appointment on Tuesday at 4pm.'`, nil)
	idleUntilSaved(t, a, b)
	if got, want := b.Text("#idle-saved"), tr(t, a.T, "idle.draft_saved"); got != want || !b.Visible("#idle-saved") {
		t.Errorf("the countdown says %q, want %q", got, want)
	}
	idle(a, b, 30*time.Second)
	b.WaitFor(`document.location.pathname === '/session/timeout' && document.readyState === 'complete'`, 15*time.Second)

	a.SignInBrowser(t, b, mum)
	b.Visit(a.URL + record + "/messages/new")
	var body string
	b.Eval(`document.getElementById('body').value`, &body)
	if body != "Ellie has a dentist appointment on Tuesday at 4pm." || b.Attr("#subject", "value") != "For Jo Bloggs" {
		t.Fatalf("after the idle sign-out the draft is %q / %q", b.Attr("#subject", "value"), body)
	}
	// A 50,000-character message: typing at its end and its autosave leave
	// the page where it was (guide 002: long messages jumped).
	b.Eval(`(() => { const t = document.getElementById('body');
	  t.value = t.value + ' ' + "Mae'n braf gweld ŵyr ac ŷd. ".repeat(1800).slice(0, 49000); t.focus();
	  t.setSelectionRange(t.value.length, t.value.length) })()`, nil)
	b.Type("#body", " Diolch.")
	b.Eval(`(() => { window.__y = window.scrollY; window.__saved = false;
	  document.querySelector('form[data-autosave]').addEventListener('htmx:afterRequest', () => { window.__saved = true }) })()`, nil)
	b.Type("#body", " Hwyl.")
	b.WaitFor(`window.__saved`, 10*time.Second)
	var moved, length int
	b.Eval(`Math.abs(window.scrollY - window.__y)`, &moved)
	b.Eval(`document.getElementById('body').value.length`, &length)
	if moved > 0 || length < 49000 {
		t.Errorf("typing and saving a long message moved the page %d px (text %d characters)", moved, length)
	}
	b.Eval(`(() => { const t = document.getElementById('body'); t.value = t.value.slice(0, 50000) })()`, nil)
	b.ClickAndWait(`button[value="send"]`)
	if !strings.Contains(b.Text(".app-thread"), "dentist appointment") {
		t.Fatalf("the sent message: %q", b.Text("main"))
	}
	b.Axe(t)
	thread := b.Path()

	staff := apptest.NewBrowser(t)
	a.SignInBrowser(t, staff, worker)
	staff.Visit(a.URL + "/staff/inbox")
	staff.Axe(t)
	staff.ClickAndWait(`table a[href^="/staff/inbox/"]`)
	staff.Axe(t)
	staff.Fill("#body", "Thank you. I have noted it.")
	// htmx sends the reply (its upload shows progress) and follows HX-Redirect.
	staff.Click(`form[action$="/reply"] button[type="submit"]`)
	staff.WaitFor(`document.querySelector('.app-thread') !== null && document.querySelector('.app-thread').textContent.includes('Thank you. I have noted it.')`, 10*time.Second)

	b.Visit(a.URL + thread)
	if got := b.Text(".app-thread"); !strings.Contains(got, "Thank you. I have noted it.") || !strings.Contains(got, worker.GivenName) {
		t.Errorf("the reply in the holder's thread: %q", got)
	}
	b.AssertClean()
}

// TestADraftIsKeptOnASlowLine: a message written on a poor mobile line
// (2 s latency, 400 kbit/s) is kept when the page is left just after
// typing, when the person signs out from the menu, and through an idle
// sign-out whose final save reaches the server only after the session
// has ended (web.FinalSaveGrace).
func TestADraftIsKeptOnASlowLine(t *testing.T) {
	a := newApp(t)
	team := a.NewTeam(t, "North Locality Team")
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, ellie, access.Parent)
	store := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	record := "/records/" + strconv.FormatInt(ellie.ID, 10)
	// The server has it: the page's last request may outlive the page, so
	// the test waits for the row, not for the page.
	saved := func(what, body string) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			d, err := store.DraftOf(context.Background(), mum.ID, ellie.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d.Body == body {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("%s: the saved draft is %d characters, want %d", what, len(d.Body), len(body))
			}
		}
	}
	b := apptest.NewBrowser(t)
	write := func(text string) {
		b.Eval(`(() => { const t = document.getElementById('body'); t.value = `+jsString(text)+`;
		  t.dispatchEvent(new Event('input', {bubbles: true})) })()`, nil)
	}

	a.SignInBrowser(t, b, mum)
	b.Visit(a.URL + record + "/messages/new")
	write("Typed just before following a link.")
	b.Visit(a.URL + record) // within the autosave's two seconds
	saved("a page left just after typing", "Typed just before following a link.")

	b.Visit(a.URL + record + "/messages/new")
	write("Typed just before signing out.")
	b.Eval(`document.querySelector('.app-account-menu__form').requestSubmit()`, nil)
	b.WaitFor(`document.location.pathname !== '/records/`+strconv.FormatInt(ellie.ID, 10)+`/messages/new'`, 15*time.Second)
	saved("Sign out", "Typed just before signing out.")

	a.SignInBrowser(t, b, mum)
	b.Visit(a.URL + record + "/messages/new")
	long := string([]rune(strings.Repeat("Mae'n braf gweld ŵyr ac ŷd. ", 1800))[:50000])
	b.Throttle(2*time.Second, 400)
	// Set without an input event: only the save before signing out sends it.
	b.Eval(`document.getElementById('body').value = `+jsString(long), nil)
	idle(a, b, web.IdleTimeout-25*time.Second)
	b.WaitFor(`document.documentElement.hasAttribute('data-portal-signing-out')`, 30*time.Second)
	// The save is on its way up the slow line when the session ends.
	idle(a, b, 40*time.Second)
	b.WaitFor(`document.location.pathname === '/session/timeout' && document.readyState === 'complete'`, 60*time.Second)
	b.Throttle(0, 0)
	if sessionStatus(b).SignedIn {
		t.Error("the late save kept the session alive")
	}
	saved("an idle sign-out on a slow line", long)
}

// TestALongThreadPagesBackWithOrWithoutScript: a thread of 120 messages
// opens on its newest 50 with Reply; "Older messages" pages back through
// the rest, on a phone, with and without JavaScript, and "Newest messages"
// leads back.
func TestALongThreadPagesBackWithOrWithoutScript(t *testing.T) {
	a := newApp(t)
	f := newFamily(t, a)
	team, worker, ellie, mum := f.team, f.worker, f.ellie, f.mum
	store := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	ctx := context.Background()
	toWorker := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, Active: true}
	if err := store.SaveType(ctx, toWorker); err != nil {
		t.Fatal(err)
	}
	th := &messages.Thread{RecordID: ellie.ID, HolderID: mum.ID, TypeID: toWorker.ID, TeamID: team.ID,
		Subject: "A long conversation", StartedBy: mum.ID}
	if err := store.Start(ctx, th, &messages.Message{AuthorID: mum.ID, Body: "Message 001"}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 120; i++ {
		m := &messages.Message{AuthorID: mum.ID, Body: "Message " + strconv.Itoa(1000 + i)[1:]}
		if i%2 == 0 {
			m.AuthorID, m.FromStaff = worker.ID, true
		}
		if err := store.Reply(ctx, th, m); err != nil {
			t.Fatal(err)
		}
	}
	thread := a.URL + "/records/" + strconv.FormatInt(ellie.ID, 10) + "/messages/" + strconv.FormatInt(th.ID, 10)
	count := `document.querySelectorAll('.app-thread__message').length`
	first := `document.querySelector('.app-thread__message .app-answer').textContent.trim()`
	for _, script := range []bool{true, false} {
		t.Run("script="+strconv.FormatBool(script), func(t *testing.T) {
			b := apptest.NewBrowser(t)
			b.Phone()
			b.NoScript(!script)
			a.SignInBrowser(t, b, mum)
			b.Visit(thread)
			var n int
			var top string
			b.Eval(count, &n)
			b.Eval(first, &top)
			if n != messages.PageSize || top != "Message 071" || !b.Exists(`form[action$="/messages/`+strconv.FormatInt(th.ID, 10)+`"]`) {
				t.Fatalf("the newest page shows %d messages from %q", n, top)
			}
			if script {
				b.Axe(t)
			}
			for _, want := range []struct {
				top   string
				n     int
				older bool
			}{{"Message 021", 50, true}, {"Message 001", 20, false}} {
				b.ClickAndWait(`a[href*="?before="]`)
				b.Eval(count, &n)
				b.Eval(first, &top)
				if n != want.n || top != want.top || b.Exists(`a[href*="?before="]`) != want.older || b.Exists(`textarea#body`) {
					t.Fatalf("an older page shows %d messages from %q", n, top)
				}
			}
			if script {
				b.Axe(t)
			}
			b.ClickAndWait(`a[href$="/messages/` + strconv.FormatInt(th.ID, 10) + `"]`)
			b.Eval(first, &top)
			if top != "Message 071" {
				t.Fatalf("Newest messages leads to a page from %q", top)
			}
		})
	}
}
