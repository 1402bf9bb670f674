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
)

// TestSendingAMessageAndReadingTheReply follows guide 000's "Sending a
// message": from the dashboard to New messages, New Message, the type, the
// subject with the worker's name, Send; the worker answers from the team
// inbox; the reply is in the thread with the worker's name. On the way the
// draft survives an idle sign-out (guide 002).
func TestSendingAMessageAndReadingTheReply(t *testing.T) {
	a := newApp(t)
	team := a.NewTeam(t, "North Locality Team")
	worker := a.NewWorker(t, "worker@example.org", team)
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, ellie, access.Parent)
	toWorker := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, NameWorker: true, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer).SaveType(context.Background(), toWorker); err != nil {
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
	idle(a, b, 14*time.Minute+52*time.Second)
	b.WaitFor(`document.location.pathname === '/session/timeout' || document.documentElement.hasAttribute('data-portal-signing-out')`, 10*time.Second)
	idle(a, b, 10*time.Second)
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
	staff.ClickAndWait(`form[action$="/reply"] button`)

	b.Visit(a.URL + thread)
	if got := b.Text(".app-thread"); !strings.Contains(got, "Thank you. I have noted it.") || !strings.Contains(got, worker.GivenName) {
		t.Errorf("the reply in the holder's thread: %q", got)
	}
	b.AssertClean()
}
