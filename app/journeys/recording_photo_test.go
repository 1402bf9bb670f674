package journeys_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/attachments"
	"portal/app/messages"
	"portal/app/uploads/uploadtest"
)

// storedJS reads every byte static/js/offline.js keeps on the device: each
// waiting entry's fields, its sealed data and the sealed bytes of each of
// its files (base64, for Go's []byte). Like waitingJS, it creates no
// database.
const storedJS = `(async () => {
  if (!(await indexedDB.databases()).some((d) => d.name === 'portal-offline')) return []
  const db = await new Promise((ok, fail) => { const r = indexedDB.open('portal-offline'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error) })
  const b64 = (buf) => {
    const u = new Uint8Array(buf)
    let s = ''
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000))
    return btoa(s)
  }
  try {
    if (!db.objectStoreNames.contains('waiting')) return []
    const all = await new Promise((ok, fail) => { const r = db.transaction('waiting').objectStore('waiting').getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error) })
    return all.map((e) => ({fields: Object.keys(e).sort().join(','), data: b64(e.data),
      files: (e.files || []).map((f) => ({fields: Object.keys(f).sort().join(','), data: b64(f.data)}))}))
  } finally { db.close() }
})()`

type storedEntry struct {
	Fields string
	Data   []byte
	Files  []struct {
		Fields string
		Data   []byte
	}
}

func stored(b *apptest.Browser) []storedEntry {
	var out []storedEntry
	b.Eval(storedJS, &out)
	return out
}

// fetchJS fetches a URL as the page (its session) and returns the status
// and the body, base64.
const fetchJS = `(async (url) => {
  const r = await fetch(url, {credentials: 'same-origin', cache: 'no-store'})
  const u = new Uint8Array(await r.arrayBuffer())
  let s = ''
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000))
  return {status: r.status, type: r.headers.get('Content-Type') || '', body: btoa(s)}
})`

type fetched struct {
	Status int
	Type   string
	Body   []byte
}

func fetchAsPage(b *apptest.Browser, url string) fetched {
	var out fetched
	b.Eval(fetchJS+"("+jsString(url)+")", &out)
	return out
}

// recordingWorld is a foster carer holding Ellie's record, with the
// recording's message type for the Fostering Team, and its worker.
type recordingWorld struct {
	*offlineWorld
	carer, worker *accounts.Person
}

func newRecordingWorld(t *testing.T) *recordingWorld {
	a := newApp(t)
	team := a.NewTeam(t, "Fostering Team")
	worker := a.NewWorker(t, "supervisor@example.org", team)
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	carer := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.Grant(t, carer, ellie, access.FosterCarer)
	key := messages.RecordingForm
	ty := &messages.Type{NameEN: "Foster carer recording", NameCY: "Cofnod gofalwr maeth", TeamID: team.ID, FormKey: &key, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	return &recordingWorld{offlineWorld: &offlineWorld{a: a, record: ellie.ID, team: team.ID, mum: carer, typeID: ty.ID},
		carer: carer, worker: worker}
}

// attachment is the record's one kept file and its bytes.
func (w *recordingWorld) attachment(t *testing.T) (*attachments.Attachment, []byte) {
	t.Helper()
	var rows []struct{ ID, ThreadID int64 }
	if err := w.a.DB.Gorm.Raw(`SELECT a.id, a.thread_id FROM attachments a JOIN threads th ON th.id = a.thread_id WHERE th.record_id = ?`,
		w.record).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("the record's threads keep %d files, want 1", len(rows))
	}
	files := attachments.NewStore(w.a.DB.Gorm, w.a.Store, w.a.Clock)
	att, err := files.Get(context.Background(), rows[0].ThreadID, rows[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := files.Open(context.Background(), att, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return att, body
}

// TestARecordingWithAPhotoSentOfflineArrivesOnceWithoutItsLocation: a
// foster carer on a phone writes a recording and adds a photo taken where
// it happened. Without signal, Send keeps the recording and the photo on
// the device, encrypted, and says so; the words and the photo stay in the
// form. Drafts still save themselves as words only, photo or no photo.
// When the signal returns the recording is sent by itself, with the
// photo, exactly once; what is kept has no location; the thread shows
// the photo's thumbnail and offers it to download; nothing is left on the
// device.
func TestARecordingWithAPhotoSentOfflineArrivesOnceWithoutItsLocation(t *testing.T) {
	w := newRecordingWorld(t)
	a := w.a
	dir := t.TempDir()
	photo := uploadtest.JPEGWithLocation(1200, 800)
	path := filepath.Join(dir, "IMG_0042.jpg")
	if err := os.WriteFile(path, photo, 0o600); err != nil {
		t.Fatal(err)
	}

	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, w.carer)
	b.Visit(a.URL + w.path() + "/messages/new")
	b.Eval(`(() => { window.__page = document.getElementById('message-page'); const s = document.getElementById('type');
	  s.value = '`+strconv.FormatInt(w.typeID, 10)+`'; s.dispatchEvent(new Event('change', {bubbles: true})) })()`, nil)
	b.WaitFor(`document.getElementById('message-page') !== window.__page && document.getElementById('narrative') !== null`, 10*time.Second)
	ready(b)

	narrative := "Ellie fell off her bike in the park and grazed her knee; I cleaned it and she was fine."
	b.SetFiles("#files", path)
	b.Eval(`(() => { const d = document.getElementById('event_date'); d.value = '2026-11-22';
	  d.dispatchEvent(new Event('input', {bubbles: true})); d.dispatchEvent(new Event('change', {bubbles: true})) })()`, nil)
	b.Fill("#children", "Ellie")
	b.Click(`input[name="category"][value="health"]`)
	b.Fill("#narrative", narrative)
	b.Click(`input[name="worker_to_act"][value="no"]`)

	// A draft saves itself with the photo chosen: words only, which the
	// draft route takes (it refuses a multipart body with 415).
	b.Eval(`(() => { const f = document.querySelector('form[data-autosave]'); window.__draft = 0;
	  f.addEventListener('htmx:afterRequest', (e) => { if (e.detail.elt === f) window.__draft = e.detail.xhr.status });
	  htmx.trigger(f, 'portal:autosave') })()`, nil)
	b.WaitFor(`window.__draft !== 0`, 10*time.Second)
	var draft int
	b.Eval(`window.__draft`, &draft)
	if draft != 204 {
		t.Fatalf("the draft's save with a photo chosen answered %d, want 204", draft)
	}
	if b.Visible(".app-upload-progress") {
		t.Error("a draft's save shows the upload's progress")
	}
	b.Axe(t)

	b.Offline(true)
	b.WaitFor(`!navigator.onLine`, 5*time.Second)
	b.Click(`button[value="send"]`)
	b.WaitFor(`document.querySelector('#flash .govuk-notification-banner__heading') !== null`, 10*time.Second)
	if got, want := b.Text("#flash .govuk-notification-banner__heading"), tr(t, a.T, "layout.js.queued"); got != want {
		t.Errorf("the page says %q, want %q", got, want)
	}
	var kept struct {
		Narrative string
		Files     int
	}
	b.Eval(`({narrative: document.getElementById('narrative').value, files: document.getElementById('files').files.length})`, &kept)
	if kept.Narrative != narrative || kept.Files != 1 {
		t.Errorf("the form now holds %q and %d files", kept.Narrative, kept.Files)
	}
	// Words added while it waits go with it, and the photo still does.
	more := " She wore a plaster for the rest of the day."
	b.Type("#narrative", more)
	narrative += more
	entries := stored(b)
	if len(entries) != 1 {
		t.Fatalf("%d entries wait on the device, want 1", len(entries))
	}
	e := entries[0]
	if e.Fields != "at,data,files,id,iv" || len(e.Files) != 1 || e.Files[0].Fields != "data,iv" {
		t.Fatalf("a waiting entry keeps %s, with %d files", e.Fields, len(e.Files))
	}
	if got, want := len(e.Files[0].Data), len(photo)+16; got != want {
		t.Errorf("the photo waits as %d bytes, want %d (the photo and its tag)", got, want)
	}
	all := append(append([]byte(nil), e.Data...), e.Files[0].Data...)
	for _, plain := range []string{"grazed", "Ellie", "IMG_0042", "image/jpeg", "_csrf", "\xff\xd8\xff", "Acacia", uploadtest.Location, string(photo[200:264])} {
		if bytes.Contains(all, []byte(plain)) {
			t.Errorf("what waits on the device shows %q: it is not encrypted", plain)
		}
	}
	if n, _ := w.messageCount(t, narrative); n != 0 {
		t.Fatalf("%d messages arrived without signal", n)
	}

	b.Offline(false)
	b.WaitFor(`/\/messages\/\d+$/.test(document.location.pathname)`, 20*time.Second)
	b.Reload() // a page load sends what waits: nothing does now
	if all, saying := w.messageCount(t, narrative); all != 1 || saying != 1 {
		t.Errorf("the record's threads hold %d messages, %d of them this one; want it exactly once", all, saying)
	}
	if n := len(stored(b)); n != 0 {
		t.Errorf("%d entries still wait after sending", n)
	}
	att, keptPhoto := w.attachment(t)
	if att.Name != "IMG_0042.jpg" || att.ContentType != "image/jpeg" || att.ThumbKey == nil {
		t.Errorf("the file is kept as %q, %s (thumbnail %v)", att.Name, att.ContentType, att.ThumbKey != nil)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(keptPhoto)); err != nil || cfg.Width != 1200 || cfg.Height != 800 {
		t.Errorf("what is kept is not the photo: %v %+v", err, cfg)
	}
	for _, leak := range []string{"GPS", uploadtest.Location, "Acacia"} {
		if bytes.Contains(keptPhoto, []byte(leak)) {
			t.Errorf("the photo kept still says %q", leak)
		}
	}

	// The thread shows the thumbnail (lazy: scrolled to), loaded, and a
	// download of the photo as kept.
	b.Eval(`document.querySelector('img.app-files__thumb').scrollIntoView()`, nil)
	b.WaitFor(`(() => { const i = document.querySelector('img.app-files__thumb'); return i.complete && i.naturalWidth > 0 })()`, 10*time.Second)
	href := b.Attr(".app-files a.govuk-link", "href")
	if !regexp.MustCompile(`^`+regexp.QuoteMeta(w.path())+`/messages/\d+/files/\d+$`).MatchString(href) ||
		!strings.Contains(b.Text(".app-files"), "IMG_0042.jpg") {
		t.Fatalf("the thread offers %q: %q", href, b.Text(".app-files"))
	}
	got := fetchAsPage(b, href)
	if got.Status != 200 || got.Type != "image/jpeg" || !bytes.Equal(got.Body, keptPhoto) {
		t.Errorf("the download = %d %q, %d bytes (kept: %d)", got.Status, got.Type, len(got.Body), len(keptPhoto))
	}
	b.Axe(t)
	assertReflows(t, b)
	b.AssertCleanExcept("net::ERR_INTERNET_DISCONNECTED") // the idle countdown's checks, without a network
}

// TestAStaffReplyCarriesAPDFToTheCarer: the worker answers the carer's
// message with a letter (the form sent by htmx, multipart). Stopped on a
// slow line, the words stay and the page says so; sent again at once, the
// reply arrives exactly once (its key goes with it), and the carer's
// thread offers the letter to download.
func TestAStaffReplyCarriesAPDFToTheCarer(t *testing.T) {
	w := newRecordingWorld(t)
	a := w.a
	th := &messages.Thread{RecordID: w.record, HolderID: w.carer.ID, TypeID: w.typeID, TeamID: w.team, Subject: "School trip", StartedBy: w.carer.ID}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).Start(context.Background(), th, &messages.Message{AuthorID: w.carer.ID, Body: "Can Ellie go on the school trip?"}); err != nil {
		t.Fatal(err)
	}
	letter := uploadtest.PDF(40_000, "")
	path := filepath.Join(t.TempDir(), "Consent letter.pdf")
	if err := os.WriteFile(path, letter, 0o600); err != nil {
		t.Fatal(err)
	}

	staff := apptest.NewBrowser(t)
	a.SignInBrowser(t, staff, w.worker)
	thread := "/staff/inbox/" + strconv.FormatInt(th.ID, 10)
	staff.Visit(a.URL + thread)
	reply := "Yes: please sign the letter and bring it in."
	staff.Fill("#body", reply)
	staff.SetFiles("#files", path)
	// On a slow line the worker stops it: the words stay.
	staff.Throttle(time.Second, 32)
	staff.Click(`form[data-upload] button[type="submit"]`)
	staff.WaitVisible("[data-upload-cancel]")
	staff.Click("[data-upload-cancel]")
	staff.WaitFor(`document.querySelector('#flash .govuk-notification-banner__heading') !== null`, 10*time.Second)
	staff.Throttle(0, 0)
	if got, want := staff.Text("#flash .govuk-notification-banner__heading"), tr(t, a.T, "messages.files.cancelled"); got != want {
		t.Errorf("after Stop sending the worker's page says %q, want %q", got, want)
	}
	var body string
	staff.Eval(`document.getElementById('body').value`, &body)
	if body != reply || staff.Visible(".app-upload-progress") {
		t.Errorf("after Stop sending the reply holds %q (progress shown: %v)", body, staff.Visible(".app-upload-progress"))
	}
	// Sent again at once, it goes.
	staff.Click(`form[data-upload] button[type="submit"]`)
	staff.WaitFor(`[...document.querySelectorAll('.app-files a.govuk-link')].some((l) => l.textContent.includes('Consent letter.pdf'))`, 20*time.Second)
	if p := staff.Path(); p != thread {
		t.Errorf("the reply ended on %s", p)
	}
	if all, saying := w.messageCount(t, reply); all != 2 || saying != 1 {
		t.Errorf("the thread holds %d messages, %d of them the reply; want 2 and 1", all, saying)
	}
	staff.Axe(t)
	// htmx logs a request it aborted as an error, whoever asked.
	staff.AssertCleanExcept("htmx:sendAbort", "htmx:afterRequest")

	carer := apptest.NewBrowser(t)
	a.SignInBrowser(t, carer, w.carer)
	carer.Visit(a.URL + w.path() + "/messages/" + strconv.FormatInt(th.ID, 10))
	var href string
	carer.Eval(`(() => { const l = [...document.querySelectorAll('.app-files a.govuk-link')].find((l) => l.textContent.includes('Consent letter.pdf'));
	  return l ? l.getAttribute('href') : '' })()`, &href)
	if href == "" {
		t.Fatalf("the carer's thread offers no letter: %q", carer.Text(".app-thread"))
	}
	if got := fetchAsPage(carer, href); got.Status != 200 || got.Type != "application/pdf" || !bytes.Equal(got.Body, letter) {
		t.Errorf("the carer's download = %d %q, %d bytes of %d", got.Status, got.Type, len(got.Body), len(letter))
	}
	carer.Axe(t)
	carer.AssertClean()
}

// TestStoppingAPhotoUploadKeepsNothing: on a slow line, a carer sending a
// recording with a photo sees how far it has gone and can stop it: nothing
// waits on the device, the words and the photo stay in the form, and the
// page says so. Sent again at once, it arrives exactly once, photo and
// all: a stopped try that reached the service anyway (Chromium's slow
// line holds back the answer, not the upload) is answered by its key, not
// repeated.
func TestStoppingAPhotoUploadKeepsNothing(t *testing.T) {
	w := newRecordingWorld(t)
	a := w.a
	path := filepath.Join(t.TempDir(), "IMG_0043.jpg")
	if err := os.WriteFile(path, uploadtest.JPEGWithLocation(1200, 800), 0o600); err != nil {
		t.Fatal(err)
	}
	b := apptest.NewBrowser(t)
	a.SignInBrowser(t, b, w.carer)
	b.Visit(a.URL + w.path() + "/messages/new")
	b.Eval(`(() => { window.__page = document.getElementById('message-page'); const s = document.getElementById('type');
	  s.value = '`+strconv.FormatInt(w.typeID, 10)+`'; s.dispatchEvent(new Event('change', {bubbles: true})) })()`, nil)
	b.WaitFor(`document.getElementById('message-page') !== window.__page && document.getElementById('narrative') !== null`, 10*time.Second)
	ready(b)
	narrative := "Ellie helped plant the vegetable patch at school; her teacher sent this photo."
	b.Eval(`document.getElementById('event_date').value = '2026-11-22'`, nil)
	b.Fill("#children", "Ellie")
	b.Click(`input[name="category"][value="achievement"]`)
	b.Fill("#narrative", narrative)
	b.Click(`input[name="worker_to_act"][value="no"]`)
	b.SetFiles("#files", path)

	b.Throttle(time.Second, 32)
	b.Click(`button[value="send"]`)
	b.WaitVisible("[data-upload-cancel]")
	b.WaitFor(`document.getElementById('upload-progress').value > 0`, 20*time.Second)
	b.Click("[data-upload-cancel]")
	b.WaitFor(`document.querySelector('#flash .govuk-notification-banner__heading') !== null`, 10*time.Second)
	b.Throttle(0, 0)
	if got, want := b.Text("#flash .govuk-notification-banner__heading"), tr(t, a.T, "messages.files.cancelled"); got != want {
		t.Errorf("after Stop sending the page says %q, want %q", got, want)
	}
	if b.Visible(".app-upload-progress") {
		t.Error("the upload's progress still shows after it stopped")
	}
	var kept struct {
		Narrative string
		Files     int
		Sending   bool
	}
	b.Eval(`({narrative: document.getElementById('narrative').value, files: document.getElementById('files').files.length,
	  sending: document.querySelector('form[data-offline]').matches('[data-offline-sending], [data-submitting], [data-offline-queued]')})`, &kept)
	if kept.Narrative != narrative || kept.Files != 1 || kept.Sending {
		t.Errorf("after Stop sending the form holds %q and %d files, still sending: %v", kept.Narrative, kept.Files, kept.Sending)
	}
	if n := len(stored(b)); n != 0 {
		t.Errorf("%d entries wait on the device after Stop sending", n)
	}
	b.Axe(t)

	b.Click(`button[value="send"]`) // at once: Stop sending left the button ready
	b.WaitFor(`/\/messages\/\d+$/.test(document.location.pathname)`, 20*time.Second)
	if all, saying := w.messageCount(t, narrative); all != 1 || saying != 1 {
		t.Errorf("the record's threads hold %d messages, %d of them this one; want it exactly once", all, saying)
	}
	if att, _ := w.attachment(t); att.Name != "IMG_0043.jpg" {
		t.Errorf("the file is kept as %q", att.Name)
	}
	b.AssertClean()
}
