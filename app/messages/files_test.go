package messages_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/attachments"
	"portal/app/records"
	"portal/app/uploads/uploadtest"
)

// sendParts is a New Message form as the browser posts it: the words, then
// the files (parts).
func (w *world) sendParts(c *apptest.Client, r *records.Record, subject, body string, files ...apptest.Part) *apptest.Response {
	c.Get(rec(r) + "/messages/new")
	parts := append([]apptest.Part{{Name: "type", Value: strconv.FormatInt(w.toWorker.ID, 10)},
		{Name: "subject", Value: subject}, {Name: "body", Value: body}, {Name: "action", Value: "send"}}, files...)
	return c.PostMultipart(rec(r)+"/messages/new", parts...)
}

func photo(name string) apptest.Part {
	return apptest.Part{Name: "files", FileName: name, Body: uploadtest.JPEGWithLocation(1200, 800)}
}

func (w *world) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := w.a.DB.Gorm.Raw(`SELECT count(*) FROM ` + table).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAMessageCarriesAPhotoWithoutItsLocationAndAPDF: the holder's thread
// and the team's show the photo's thumbnail and both files' downloads;
// what is kept and sent has no location; opening a file is audited.
func TestAMessageCarriesAPhotoWithoutItsLocationAndAPDF(t *testing.T) {
	w := newWorld(t)
	pdf := uploadtest.PDF(3000, "")
	res := w.sendParts(w.mumC, w.ellie, "For Jo Bloggs", "The bruise on her arm, as I said on the phone.",
		photo("IMG_0042.jpg"), apptest.Part{Name: "files", FileName: "GP letter.pdf", Body: pdf})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	page := w.mumC.Get(res.Header.Get("Location"))
	thumb, _ := page.Doc.Find("img.app-files__thumb").Attr("src")
	links := page.Doc.Find(".app-files a.govuk-link")
	if thumb == "" || links.Length() != 2 || !strings.Contains(links.Text(), "IMG_0042.jpg") || !strings.Contains(links.Text(), "GP letter.pdf") {
		t.Fatalf("the thread shows thumbnail %q and files %q", thumb, links.Text())
	}
	if got := w.mumC.Get(thumb); got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "image/jpeg" ||
		len(got.Body) == 0 || len(got.Body) >= len(uploadtest.JPEGWithLocation(1200, 800)) {
		t.Errorf("the thumbnail = %d %q, %d bytes", got.StatusCode, got.Header.Get("Content-Type"), len(got.Body))
	}
	href, _ := links.First().Attr("href")
	got := w.mumC.Get(href)
	if got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "image/jpeg" ||
		!strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment") || got.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the photo = %d %q %q", got.StatusCode, got.Header.Get("Content-Type"), got.Header.Get("Content-Disposition"))
	}
	for _, leak := range []string{"GPS", uploadtest.Location, "Acacia"} {
		if strings.Contains(got.Body, leak) {
			t.Errorf("the photo sent still says %q", leak)
		}
	}
	var opened int
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'message.file_opened' AND actor_id = ?`, w.mum.ID).Scan(&opened)
	if opened != 1 {
		t.Errorf("%d audit events for the opened photo, want 1", opened)
	}

	staff := w.a.Client(t)
	w.a.SignIn(t, staff, w.worker)
	inbox := staff.Get("/staff/inbox")
	if inbox.Doc.Find(`[id^="attachments-"]`).Length() != 1 {
		t.Errorf("the inbox does not mark the thread with files: %q", inbox.Text("main"))
	}
	threadLink, _ := inbox.Doc.Find(`main table a[href^="/staff/inbox/"]`).First().Attr("href")
	thread := staff.Get(threadLink)
	var pdfLink string
	thread.Doc.Find(".app-files a.govuk-link").Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Text(), ".pdf") {
			pdfLink, _ = s.Attr("href")
		}
	})
	if thread.Doc.Find("img.app-files__thumb").Length() != 1 || pdfLink == "" {
		t.Fatalf("the team's thread shows %q", thread.Text(".app-thread"))
	}
	if got := staff.Get(pdfLink); got.StatusCode != http.StatusOK || !bytes.Equal([]byte(got.Body), pdf) {
		t.Errorf("the worker's PDF = %d, %d bytes of %d", got.StatusCode, len(got.Body), len(pdf))
	}
}

// TestARefusedFileKeepsTheWords: a file the portal does not take is named
// on the page, which keeps what was written (and its draft); nothing is
// sent, nothing kept.
func TestARefusedFileKeepsTheWords(t *testing.T) {
	w := newWorld(t)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...)
	six := make([]apptest.Part, attachments.MaxFiles+1)
	for i := range six {
		six[i] = photo("photo" + strconv.Itoa(i) + ".jpg")
	}
	for _, c := range []struct {
		name   string
		files  []apptest.Part
		status int
		says   string
	}{
		{"a program named as a photo", []apptest.Part{{Name: "files", FileName: "photo.jpg", Body: []byte("MZ\x90\x00 this is a program")}},
			http.StatusUnprocessableEntity, w.a.T("messages.files.error_type", "Name", "photo.jpg")},
		{"an iPhone's HEIC photo", []apptest.Part{{Name: "files", FileName: "IMG_0001.HEIC", Body: heic}},
			http.StatusUnprocessableEntity, w.a.T("messages.files.error_heic", "Name", "IMG_0001.HEIC")},
		{"six files", six, http.StatusUnprocessableEntity, w.a.T("messages.files.error_count", "Max", attachments.MaxFiles)},
		{"a file over 10 MB", []apptest.Part{{Name: "files", FileName: "scan.pdf", Body: uploadtest.PDF(attachments.MaxSize+1, "")}},
			http.StatusRequestEntityTooLarge, w.a.T("messages.files.error_too_large", "Name", "scan.pdf", "MB", 10)},
	} {
		t.Run(c.name, func(t *testing.T) {
			words := "What happened at contact: " + c.name
			res := w.sendParts(w.mumC, w.ellie, "For Jo Bloggs", words, c.files...)
			if res.StatusCode != c.status || !strings.Contains(res.Text("#files-error"), c.says) ||
				res.Doc.Find(`.govuk-error-summary a[href="#files"]`).Length() != 1 {
				t.Fatalf("= %d, files error %q, want %d %q", res.StatusCode, res.Text("#files-error"), c.status, c.says)
			}
			if res.Text("textarea#body") != words || res.Doc.Find(`input#subject[value="For Jo Bloggs"]`).Length() != 1 {
				t.Errorf("the words are lost: %q", res.Text("textarea#body"))
			}
			if again := w.mumC.Get(rec(w.ellie) + "/messages/new"); again.Text("textarea#body") != words {
				t.Errorf("the draft is %q", again.Text("textarea#body"))
			}
			if n := w.count(t, "messages") + w.count(t, "attachments"); n != 0 {
				t.Errorf("%d messages and files kept", n)
			}
		})
	}
}

// TestAFileIsTheSame404ForAnyoneElse: a co-holder, another record's holder,
// a file asked for through another thread, a PDF's thumbnail and another
// team all get the 404 of a file that does not exist.
func TestAFileIsTheSame404ForAnyoneElse(t *testing.T) {
	w := newWorld(t)
	res := w.sendParts(w.mumC, w.ellie, "For Jo Bloggs", "A photo", photo("a.jpg"),
		apptest.Part{Name: "files", FileName: "b.pdf", Body: uploadtest.PDF(2000, "")})
	mums := res.Header.Get("Location")
	file, pdf := w.fileIDs(t)
	others := w.sendParts(w.otherC, w.sam, "Sam's", "Hello").Header.Get("Location")
	thread := mums[strings.LastIndex(mums, "/")+1:]
	missing := w.mumC.Get(mums + "/files/999999")
	if missing.StatusCode != http.StatusNotFound || w.mumC.Get(mums+"/files/"+file).StatusCode != http.StatusOK {
		t.Fatal("the holder's own file is not the baseline")
	}
	dutyWorker, err := accounts.NewStore(w.a.DB.Gorm).ByEmail(context.Background(), "duty@example.org")
	if err != nil {
		t.Fatal(err)
	}
	duty := w.a.Client(t)
	w.a.SignIn(t, duty, dutyWorker)
	for name, get := range map[string]func() *apptest.Response{
		"a co-holder":                 func() *apptest.Response { return w.dadC.Get(mums + "/files/" + file) },
		"another record's holder":     func() *apptest.Response { return w.otherC.Get(rec(w.sam) + "/messages/" + thread + "/files/" + file) },
		"through another thread":      func() *apptest.Response { return w.otherC.Get(others + "/files/" + file) },
		"a PDF's thumbnail":           func() *apptest.Response { return w.mumC.Get(mums + "/files/" + pdf + "/thumb") },
		"another team":                func() *apptest.Response { return duty.Get("/staff/inbox/" + thread + "/files/" + file) },
		"another team's thumbnail":    func() *apptest.Response { return duty.Get("/staff/inbox/" + thread + "/files/" + file + "/thumb") },
		"the record under another id": func() *apptest.Response { return w.mumC.Get(rec(w.sam) + "/messages/" + thread + "/files/" + file) },
	} {
		if got := get(); got.StatusCode != http.StatusNotFound || got.Text("h1") != missing.Text("h1") {
			t.Errorf("%s: %d %q, want the 404 of a missing file", name, got.StatusCode, got.Text("h1"))
		}
	}
}

// fileIDs are the ids of the only photo and PDF kept.
func (w *world) fileIDs(t *testing.T) (photo, pdf string) {
	t.Helper()
	var rows []struct {
		ID          int64
		ContentType string
	}
	w.a.DB.Gorm.Raw(`SELECT id, content_type FROM attachments ORDER BY id`).Scan(&rows)
	for _, r := range rows {
		if r.ContentType == "application/pdf" {
			pdf = strconv.FormatInt(r.ID, 10)
		} else {
			photo = strconv.FormatInt(r.ID, 10)
		}
	}
	if photo == "" || pdf == "" {
		t.Fatalf("kept files: %+v", rows)
	}
	return photo, pdf
}

// TestAnUploadSentAgainWithItsKeyMakesOneMessage: the same multipart form
// (its _idem the part after _csrf, as FormTokens renders it) sent twice,
// as a phone does after a dropped answer, keeps one message and one file
// and answers the second with the first answer.
func TestAnUploadSentAgainWithItsKeyMakesOneMessage(t *testing.T) {
	w := newWorld(t)
	page := w.mumC.Get(rec(w.ellie) + "/messages/new")
	key, _ := page.Doc.Find(`form[enctype="multipart/form-data"] input[name="_idem"]`).Attr("value")
	if key == "" {
		t.Fatal("the New Message form has no idempotency key")
	}
	send := func() *apptest.Response {
		return w.mumC.PostMultipart(rec(w.ellie)+"/messages/new", apptest.Part{Name: "_idem", Value: key},
			apptest.Part{Name: "type", Value: strconv.FormatInt(w.toWorker.ID, 10)}, apptest.Part{Name: "subject", Value: "For Jo"},
			apptest.Part{Name: "body", Value: "Once only"}, apptest.Part{Name: "action", Value: "send"}, photo("once.jpg"))
	}
	first, second := send(), send()
	if first.StatusCode != http.StatusSeeOther || second.StatusCode != first.StatusCode ||
		second.Header.Get("Location") != first.Header.Get("Location") || second.Header.Get("Idempotent-Replayed") == "" {
		t.Fatalf("sent twice = %d %q then %d %q (replayed %q)", first.StatusCode, first.Header.Get("Location"),
			second.StatusCode, second.Header.Get("Location"), second.Header.Get("Idempotent-Replayed"))
	}
	if m, f := w.count(t, "messages"), w.count(t, "attachments"); m != 1 || f != 1 {
		t.Errorf("%d messages and %d files, want one of each", m, f)
	}
}

// TestAWorkerRepliesWithAFile: the team's reply carries a PDF, which the
// holder then downloads from their thread.
func TestAWorkerRepliesWithAFile(t *testing.T) {
	w := newWorld(t)
	path := w.send(t, w.mumC, w.ellie, w.toWorker, "For Jo Bloggs", "Can I have the plan?")
	thread := path[strings.LastIndex(path, "/")+1:]
	staff := w.a.Client(t)
	w.a.SignIn(t, staff, w.worker)
	staff.Get("/staff/inbox/" + thread)
	plan := uploadtest.PDF(5000, "")
	res := staff.PostMultipart("/staff/inbox/"+thread+"/reply", apptest.Part{Name: "body", Value: "Here it is."},
		apptest.Part{Name: "files", FileName: "Plan.pdf", Body: plan})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the reply = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	bad := staff.PostMultipart("/staff/inbox/"+thread+"/reply", apptest.Part{Name: "body", Value: "And this."},
		apptest.Part{Name: "files", FileName: "notes.pdf", Body: []byte("%PDF-1.7\njunk")})
	if bad.StatusCode != http.StatusUnprocessableEntity || bad.Text("textarea#body") != "And this." || bad.Text("#files-error") == "" {
		t.Errorf("a damaged PDF = %d, words %q, error %q", bad.StatusCode, bad.Text("textarea#body"), bad.Text("#files-error"))
	}
	page := w.mumC.Get(path)
	href, _ := page.Doc.Find(`.app-thread__message--council .app-files a.govuk-link`).Attr("href")
	if got := w.mumC.Get(href); href == "" || got.StatusCode != http.StatusOK || !bytes.Equal([]byte(got.Body), plan) {
		t.Fatalf("the holder's copy of the worker's PDF (%q) = %d", href, got.StatusCode)
	}
}

// TestADraftIsWordsOnly: a draft save that is not URL-encoded (a form's
// files) is refused, and the draft kept is untouched.
func TestADraftIsWordsOnly(t *testing.T) {
	w := newWorld(t)
	w.mumC.Get(rec(w.ellie) + "/messages/new")
	if res := w.mumC.PostForm(rec(w.ellie)+"/messages/draft", url.Values{"body": {"Kept words"}}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("a draft = %d", res.StatusCode)
	}
	res := w.mumC.PostMultipart(rec(w.ellie)+"/messages/draft", apptest.Part{Name: "body", Value: ""},
		apptest.Part{Name: "files", FileName: "draft.jpg", Body: uploadtest.JPEG(8, 8)})
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a multipart draft = %d, want 415", res.StatusCode)
	}
	if got := w.mumC.Get(rec(w.ellie) + "/messages/new").Text("textarea#body"); got != "Kept words" {
		t.Errorf("the draft is %q", got)
	}
}

// TestASendWhoseAnswerWasLostMakesOneMessage: the database went away after
// a send's commit, so its answer was an error and its idempotency key was
// released (here: the key's row deleted). The same send again, as the
// person presses Send once the service is back, finds its message by the
// key it keeps (messages.request_key) and leads to it: one message, for a
// new thread, a holder's reply and a worker's reply alike.
func TestASendWhoseAnswerWasLostMakesOneMessage(t *testing.T) {
	w := newWorld(t)
	lost := func(c *apptest.Client, path string, parts ...apptest.Part) (first, again *apptest.Response) {
		t.Helper()
		key, _ := c.Get(path).Doc.Find(`input[name="_idem"]`).Last().Attr("value")
		if key == "" {
			t.Fatalf("%s has no idempotency key", path)
		}
		parts = append([]apptest.Part{{Name: "_idem", Value: key}}, parts...)
		return c.PostMultipart(path, parts...), func() *apptest.Response {
			w.a.DB.Gorm.Exec(`DELETE FROM idempotency_keys`) // released, as after a failure
			return c.PostMultipart(path, parts...)
		}()
	}

	newPath := rec(w.ellie) + "/messages/new"
	first, again := lost(w.mumC, newPath, apptest.Part{Name: "type", Value: strconv.FormatInt(w.toWorker.ID, 10)},
		apptest.Part{Name: "subject", Value: "For Jo"}, apptest.Part{Name: "body", Value: "Once only"},
		apptest.Part{Name: "action", Value: "send"})
	if first.StatusCode != http.StatusSeeOther || again.StatusCode != http.StatusSeeOther ||
		again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("a new message sent again = %d %q, then %d %q", first.StatusCode, first.Header.Get("Location"),
			again.StatusCode, again.Header.Get("Location"))
	}
	if n, th := w.count(t, "messages"), w.count(t, "threads"); n != 1 || th != 1 {
		t.Fatalf("%d messages in %d threads, want one", n, th)
	}

	thread := first.Header.Get("Location")
	first, again = lost(w.mumC, thread, apptest.Part{Name: "body", Value: "A reply, once"})
	if first.StatusCode != http.StatusSeeOther || again.StatusCode != http.StatusSeeOther {
		t.Fatalf("a reply sent again = %d then %d", first.StatusCode, again.StatusCode)
	}
	staff := w.a.Client(t)
	w.a.SignIn(t, staff, w.worker)
	staffThread := "/staff/inbox/" + thread[strings.LastIndex(thread, "/")+1:]
	staff.Get(staffThread)
	first, again = lost(staff, staffThread+"/reply", apptest.Part{Name: "body", Value: "The council's reply, once"})
	if first.StatusCode != http.StatusSeeOther || again.StatusCode != http.StatusSeeOther {
		t.Fatalf("a worker's reply sent again = %d then %d", first.StatusCode, again.StatusCode)
	}
	if n := w.count(t, "messages"); n != 3 {
		t.Errorf("%d messages, want 3: each sent once", n)
	}
}
