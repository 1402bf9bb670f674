package journeys_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/messages"
	"portal/app/web"
)

// waitingJS reads what waits on the device (static/js/offline.js's
// IndexedDB queue) without creating the database: each entry's fields, and
// its sealed data read as Latin-1, which must show none of the words.
const waitingJS = `(async () => {
  if (!(await indexedDB.databases()).some((d) => d.name === 'portal-offline')) return []
  const db = await new Promise((ok, fail) => { const r = indexedDB.open('portal-offline'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error) })
  try {
    if (!db.objectStoreNames.contains('waiting')) return []
    const all = await new Promise((ok, fail) => { const r = db.transaction('waiting').objectStore('waiting').getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error) })
    return all.map((e) => ({fields: Object.keys(e).sort().join(','), data: new TextDecoder('latin1').decode(e.data)}))
  } finally { db.close() }
})()`

type waitingEntry struct{ Fields, Data string }

func waiting(b *apptest.Browser) []waitingEntry {
	var out []waitingEntry
	b.Eval(waitingJS, &out)
	return out
}

// cachedJS lists the paths of everything the service worker's caches hold.
const cachedJS = `(async () => {
  const out = []
  for (const name of await caches.keys()) {
    for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname + new URL(req.url).search)
  }
  return out
})()`

// offlineWorld is a parent holding a record with a message type.
type offlineWorld struct {
	a      *apptest.TestApp
	record int64
	team   int64
	thread string // a thread's URL, when the test made one
	mum    *accounts.Person
	typeID int64
}

func newOfflineWorld(t *testing.T) *offlineWorld {
	a := newApp(t)
	team := a.NewTeam(t, "North Locality Team")
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, ellie, access.Parent)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	return &offlineWorld{a: a, record: ellie.ID, team: team.ID, mum: mum, typeID: ty.ID}
}

// messageCount is how many messages the record's threads hold, and how
// many of them say text.
func (w *offlineWorld) messageCount(t *testing.T, text string) (all, saying int) {
	t.Helper()
	var rows []struct {
		ThreadID int64
		Body     string
	}
	if err := w.a.DB.Gorm.Raw(`SELECT m.thread_id, m.body FROM messages m JOIN threads th ON th.id = m.thread_id WHERE th.record_id = ?`,
		w.record).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		body, err := w.a.Sealer.Open(fmt.Sprintf("message.body:%d", r.ThreadID), r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), text) {
			saying++
		}
	}
	return len(rows), saying
}

func (w *offlineWorld) path() string { return "/records/" + strconv.FormatInt(w.record, 10) }

// ready waits until the page's service worker controls it and its device
// key has come (offline.js asks for it on a page with a form to keep).
func ready(b *apptest.Browser) {
	b.WaitFor(`navigator.serviceWorker.controller !== null`, 20*time.Second)
	b.WaitFor(`performance.getEntriesByType('resource').some((e) => e.name.endsWith('/session/device-key') && e.responseEnd > 0)`, 10*time.Second)
}

// TestAMessageSentOfflineArrivesOnce: on a phone, a parent writes a
// new message and loses signal; Send keeps it on the device, encrypted,
// says so, and leaves the words in the form. When the signal returns it
// is sent by itself, exactly once, and the page goes to its thread. A
// reply whose POST fails while the phone believes it is online waits too,
// and the next page load sends it, once. The service worker has kept
// nothing but static files and the offline page.
func TestAMessageSentOfflineArrivesOnce(t *testing.T) {
	w := newOfflineWorld(t)
	a := w.a
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, w.mum)
	b.Visit(a.URL + w.path() + "/messages/new")
	// Online, a refusal is shown in place, as the browser would show it.
	b.Click(`button[value="send"]`)
	b.WaitFor(`document.activeElement && document.activeElement.closest('.govuk-error-summary') !== null`, 10*time.Second)
	var title string
	b.Eval(`document.title`, &title)
	if !strings.HasPrefix(title, tr(t, a.T, "layout.error_prefix")) || !b.Exists(`form[data-offline]`) {
		t.Errorf("an empty message: the page is %q, want its errors and the form", title)
	}
	b.ClearLogs() // the 422 of that Send, expected
	b.Eval(`(() => { window.__page = document.getElementById('message-page'); const s = document.getElementById('type');
	  s.value = '`+strconv.FormatInt(w.typeID, 10)+`'; s.dispatchEvent(new Event('change', {bubbles: true})) })()`, nil)
	b.WaitFor(`document.getElementById('message-page') !== window.__page`, 10*time.Second) // the type's page came back
	ready(b)
	subject, body := "Dentist on Tuesday", "Ellie has a dentist appointment on Tuesday at 4pm."
	b.Fill("#subject", subject)
	b.Fill("#body", body)

	b.Offline(true)
	b.WaitFor(`!navigator.onLine`, 5*time.Second)
	b.Click(`button[value="send"]`)
	b.WaitFor(`document.querySelector('#flash .govuk-notification-banner__heading') !== null`, 10*time.Second)
	if got, want := b.Text("#flash .govuk-notification-banner__heading"), tr(t, a.T, "layout.js.queued"); got != want {
		t.Errorf("the page says %q, want %q", got, want)
	}
	var kept []string
	b.Eval(`[document.getElementById('subject').value, document.getElementById('body').value]`, &kept)
	if len(kept) != 2 || kept[0] != subject || kept[1] != body {
		t.Errorf("the form now holds %q", kept)
	}
	// Words added while it waits go with it.
	more := " Bring the red book."
	b.Type("#body", more)
	body += more
	b.Axe(t)
	entries := waiting(b)
	if len(entries) != 1 {
		t.Fatalf("%d entries wait on the device, want 1", len(entries))
	}
	for _, plain := range []string{"dentist", "Dentist", "_csrf", "messages"} {
		if strings.Contains(entries[0].Data, plain) {
			t.Errorf("what waits on the device shows %q: it is not encrypted", plain)
		}
	}
	if entries[0].Fields != "at,data,id,iv" {
		t.Errorf("a waiting entry keeps %s in the clear", entries[0].Fields)
	}
	if n, _ := w.messageCount(t, body); n != 0 {
		t.Fatalf("%d messages arrived without signal", n)
	}

	b.Offline(false)
	b.WaitFor(`/\/messages\/\d+$/.test(document.location.pathname)`, 20*time.Second)
	if !strings.Contains(b.Text(".app-thread"), body) {
		t.Fatalf("the thread shows %q", b.Text(".app-thread"))
	}
	b.Reload() // a page load sends what waits: nothing does now
	if all, saying := w.messageCount(t, body); all != 1 || saying != 1 {
		t.Errorf("the record's threads hold %d messages, %d of them this one; want it exactly once", all, saying)
	}
	if n := len(waiting(b)); n != 0 {
		t.Errorf("%d entries still wait after sending", n)
	}

	// A reply on a signal that carries nothing: the phone believes it is
	// online, the POST fails. It waits, and the next page load sends it.
	thread := b.Path()
	ready(b)
	reply := "Thank you, we will be there."
	b.Fill("#body", reply)
	unreachable(t, b, a.URL+thread) // the reply posts to the thread
	b.Click(`form[data-offline] button[type="submit"]`)
	b.WaitFor(`document.querySelector('form[data-offline-queued]') !== null`, 10*time.Second)
	if got, want := b.Text("#flash .govuk-notification-banner__heading"), tr(t, a.T, "layout.js.queued"); got != want {
		t.Errorf("after a failed reply the page says %q, want %q", got, want)
	}
	if n := len(waiting(b)); n != 1 {
		t.Fatalf("%d entries wait after a failed reply, want 1", n)
	}
	unreachable(t, b, "")
	b.Reload()
	b.WaitFor(`document.querySelector('.app-thread') && document.querySelector('.app-thread').textContent.includes(`+jsString(reply)+`)`, 20*time.Second)
	if all, saying := w.messageCount(t, reply); all != 2 || saying != 1 {
		t.Errorf("the record's threads hold %d messages, %d of them the reply; want 2 and 1", all, saying)
	}

	var cached []string
	b.Eval(cachedJS, &cached)
	statics := 0
	for _, p := range cached {
		switch {
		case regexp.MustCompile(`^/static/[^?]+\.[0-9a-f]{10}\.[a-z0-9]+$`).MatchString(p):
			statics++
		case p != "/offline":
			t.Errorf("the service worker keeps %s: only static files and the offline page may be kept", p)
		}
	}
	if statics == 0 || !contains(cached, "/offline") {
		t.Errorf("the service worker keeps %v: want the static files and the offline page", cached)
	}
	b.AssertCleanExcept("net::ERR_INTERNET_DISCONNECTED") // the idle countdown's checks, without a network
}

// TestWhatWaitsOfflineLeavesWithItsSession: a reply kept on the device
// without signal is wiped when the parent signs out, even though the
// sign-out itself cannot leave the phone, and when the idle countdown ends;
// and a new session cannot read what an older one left, which is dropped
// unsent. The pages read after the wipes are the service worker's offline
// page, which itself wipes nothing, so what is read there is what the
// signed-in page left.
func TestWhatWaitsOfflineLeavesWithItsSession(t *testing.T) {
	w := newOfflineWorld(t)
	a := w.a
	th := &messages.Thread{RecordID: w.record, HolderID: w.mum.ID, TypeID: w.typeID, TeamID: w.team, Subject: "Tuesday", StartedBy: w.mum.ID}
	store := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	if err := store.Start(context.Background(), th, &messages.Message{AuthorID: w.mum.ID, Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	w.thread = a.URL + w.path() + "/messages/" + strconv.FormatInt(th.ID, 10)
	b := apptest.NewBrowser(t)

	t.Run("sign-out", func(t *testing.T) {
		b := b.For(t)
		a.SignInBrowser(t, b, w.mum)
		w.queueReply(t, b, "Typed on the bus.")
		b.Click("summary.app-account-menu__summary")
		b.Click(`.app-account-menu form[action="/sign-out"] button`)
		// The sign-out could not leave the phone (the browser's own error
		// page); the next page is the offline page.
		b.WaitFor(`document.location.protocol === 'chrome-error:'`, 15*time.Second)
		b.Visit(a.URL + "/offline")
		w.nothingWaits(t, b, "after Log out")
		b.Axe(t)
		assertReflows(t, b)
		b.Offline(false)
	})
	t.Run("idle timeout", func(t *testing.T) {
		b := b.For(t)
		a.SignInBrowser(t, b, w.mum)
		w.queueReply(t, b, "Typed in the waiting room.")
		b.Axe(t)
		idle(a, b, web.IdleTimeout+time.Second)
		// The countdown ends: it goes to the timeout page, which without
		// signal is the offline page.
		w.nothingWaits(t, b, "after the idle timeout")
		if p := b.Path(); p != "/session/timeout" {
			t.Errorf("the countdown ended on %s", p)
		}
		b.Offline(false)
	})
	t.Run("another session", func(t *testing.T) {
		b := b.For(t)
		a.SignInBrowser(t, b, w.mum)
		w.queueReply(t, b, "Typed before the battery died.")
		// The page is gone, signal and all; another day, another session.
		b.Visit(a.URL + "/offline")
		a.SignInBrowser(t, b, w.mum)
		b.Offline(false)
		b.Visit(w.thread)
		b.WaitFor(`document.querySelector('form[data-offline]') !== null`, 10*time.Second)
		for end := time.Now().Add(10 * time.Second); len(waiting(b)) > 0; {
			if time.Now().After(end) {
				t.Fatal("the new session left what the old one kept")
			}
			b.WaitFor(`true`, time.Second) // one more round trip to the page
		}
		// Dropped unread and unsent: the page is still the thread, not the
		// answer to a send (the new session's CSRF check would refuse it).
		if got := b.Text("main h1"); got != "Tuesday" {
			t.Errorf("the page shows %q, want the thread", got)
		}
	})
	if all, _ := w.messageCount(t, "Typed"); all != 1 {
		t.Errorf("the thread holds %d messages: a reply that should be gone was sent", all)
	}
	b.AssertCleanExcept("net::ERR_INTERNET_DISCONNECTED") // the idle countdown's checks, without a network
}

// queueReply writes a reply on the thread's page and presses Send
// without signal: it waits on the device.
func (w *offlineWorld) queueReply(t *testing.T, b *apptest.Browser, text string) {
	t.Helper()
	b.Visit(w.thread)
	ready(b)
	b.Fill("#body", text)
	b.Offline(true)
	b.WaitFor(`!navigator.onLine`, 5*time.Second)
	b.Click(`form[data-offline] button[type="submit"]`)
	b.WaitFor(`document.querySelector('form[data-offline-queued]') !== null`, 10*time.Second)
	if n := len(waiting(b)); n != 1 {
		t.Fatalf("%d entries wait on the device, want 1", n)
	}
}

// nothingWaits waits for the service worker's offline page and checks
// that nothing waits on the device.
func (w *offlineWorld) nothingWaits(t *testing.T, b *apptest.Browser, what string) {
	t.Helper()
	b.WaitFor(`document.querySelector('[data-offline-page]') !== null`, 20*time.Second)
	if got, want := b.Text("main h1"), tr(t, w.a.T, "pages.offline.title"); got != want {
		t.Errorf("%s: the offline page's heading is %q, want %q", what, got, want)
	}
	if n := len(waiting(b)); n != 0 {
		t.Errorf("%s: %d entries still wait on the device", what, n)
	}
}

// unreachable makes every request to the URL pattern fail while the
// browser still believes it is online (a signal that carries nothing);
// an empty pattern lets everything through again.
func unreachable(t *testing.T, b *apptest.Browser, pattern string) {
	t.Helper()
	rules := []*network.Conditions{}
	if pattern != "" {
		rules = append(rules, &network.Conditions{URLPattern: pattern, Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	ctx, cancel := context.WithTimeout(b.Context(), 15*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule,
			network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules})
		return err
	}))
	if err != nil {
		t.Fatalf("unreachable %q: %v", pattern, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
