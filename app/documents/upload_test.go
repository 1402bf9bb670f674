package documents_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"portal/app"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/uploads"
	"portal/app/uploads/uploadtest"
)

func TestAnUploadInErrorKeepsTheAnswersAndStoresNothing(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	a := w.a
	tooBig := pdf(t, int(uploads.Limit)+1)
	for _, tt := range []struct {
		name       string
		title      string
		fileName   string
		file       []byte
		recipients []*accounts.Person
		field, key string
		status     int
	}{
		{"nobody chosen", "Plan", "plan.pdf", pdf(t, 100), nil, "recipients", "staff.document.error_recipients", 422},
		{"another record's holder chosen", "Plan", "plan.pdf", pdf(t, 100), []*accounts.Person{w.other}, "recipients", "staff.document.error_recipients", 422},
		{"no title", "", "plan.pdf", pdf(t, 100), []*accounts.Person{w.mum}, "title", "staff.document.error_title", 422},
		{"a title too long", strings.Repeat("x", 151), "plan.pdf", pdf(t, 100), []*accounts.Person{w.mum}, "title", "staff.document.error_title_long", 422},
		{"no file", "Plan", "", nil, []*accounts.Person{w.mum}, "file", "staff.document.error_file", 422},
		{"an empty file", "Plan", "plan.pdf", []byte{}, []*accounts.Person{w.mum}, "file", "uploads.error_empty", 422},
		{"an SVG named .pdf", "Plan", "plan.pdf", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), []*accounts.Person{w.mum}, "file", "staff.document.error_type", 422},
		{"an HTML page", "Plan", "plan.html", []byte("  <html><script>alert(1)</script></html>"), []*accounts.Person{w.mum}, "file", "staff.document.error_type", 422},
		{"the PDF signature and then junk", "Plan", "plan.pdf", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("junk "), 100)...), []*accounts.Person{w.mum}, "file", "uploads.error_pdf_damaged", 422},
		{"a PDF with JavaScript", "Plan", "plan.pdf", uploadtest.PDF(2000, "<< /S /JavaScript /JS (app.alert(1)) >>"), []*accounts.Person{w.mum}, "file", "uploads.error_pdf_active", 422},
		{"a PDF with a Launch action", "Plan", "plan.pdf", uploadtest.PDF(2000, "<< /S /Launch /F (cmd.exe) >>"), []*accounts.Person{w.mum}, "file", "uploads.error_pdf_active", 422},
		{"a PDF with an attached file", "Plan", "plan.pdf", uploadtest.PDF(2000, "<< /Type /EmbeddedFile >>"), []*accounts.Person{w.mum}, "file", "uploads.error_pdf_active", 422},
		{"a file over 25 MiB", "Plan", "plan.pdf", tooBig, []*accounts.Person{w.mum}, "file", "staff.document.error_too_large", 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var res *apptest.Response
			if tt.file == nil {
				// A form sent with no file chosen: the browser's empty part.
				w.worker.Get(staffRecord(w.ellie) + "/documents/new")
				res = w.worker.PostMultipart(staffRecord(w.ellie)+"/documents", apptest.Part{Name: "title", Value: tt.title},
					apptest.Part{Name: "kind", Value: "plan"}, apptest.Part{Name: "recipients", Value: id(w.mum)},
					apptest.Part{Name: "file", FileName: "", Body: []byte{}})
			} else {
				res = w.send(t, w.ellie, tt.title, tt.fileName, tt.file, tt.recipients...)
			}
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
			link := res.Doc.Find(`.govuk-error-summary a[href="#` + tt.field + `"]`)
			if link.Length() == 0 || strings.TrimSpace(link.Text()) != a.T(tt.key, "MB", 25, "Max", 150) {
				t.Errorf("the summary does not link to #%s with %s: %q", tt.field, tt.key, res.Text(".govuk-error-summary"))
			}
			if got, _ := res.Doc.Find("#title").Attr("value"); got != tt.title {
				t.Errorf("the title came back as %q", got)
			}
			for _, p := range tt.recipients {
				if res.Doc.Find(`input[name="recipients"][value="`+id(p)+`"][checked]`).Length() == 0 && p != w.other {
					t.Errorf("recipient %s is no longer ticked", p.Email)
				}
			}
			var n int64
			a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&n)
			if n != 0 {
				t.Errorf("%d documents stored", n)
			}
		})
	}
	// The worker goes on after the errors: the same connection pool works.
	w.sent(t, w.ellie, "Plan", pdf(t, 100), w.mum)
}

func TestEveryOtherRouteKeepsTheSmallBodyLimit(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	w.mumC.Get("/profile")
	// Only the head and the first bytes go out: the limit must refuse the
	// body by its announced size, and the answer is always read.
	if status := w.mumC.AnnounceBody(w.a, http.MethodPost, "/profile", "application/x-www-form-urlencoded", 400_000); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 400 KB form to /profile = %d, want 413", status)
	}
	// Security: the upload route's exception is for POST to it only.
	if status := w.mumC.AnnounceBody(w.a, http.MethodPost, "/staff/records/1/documents/new", "application/octet-stream", 400_000); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 400 KB body elsewhere under /staff = %d, want 413", status)
	}
}

func TestAnUploadNeedsTheCSRFTokenFirstOrInTheHeader(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	w.worker.Get(staffRecord(w.ellie) + "/documents/new")
	token := w.worker.CSRF()
	body := func(fields ...string) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		fw, _ := mw.CreateFormFile("file", "plan.pdf")
		fw.Write(pdf(t, 100))
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	fields := []string{"title", "Plan", "kind", "plan", "recipients", id(w.mum)}
	forged := "x" + token[1:]
	if token[0] == 'x' {
		forged = "y" + token[1:] // never the real token by chance
	}
	for name, f := range map[string][]string{
		"no token":            fields,
		"the token, but last": append(append([]string{}, fields...), "_csrf", token),
		"a wrong token":       append([]string{"_csrf", forged}, fields...),
	} {
		b, ct := body(f...)
		if res := w.worker.Do(http.MethodPost, staffRecord(w.ellie)+"/documents", b, ct); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s = %d, want 403", name, res.StatusCode)
		}
	}
	// HTMX sends the token in a header; the form's own field may follow.
	b, ct := body(fields...)
	w.worker.Header.Set("X-CSRF-Token", token)
	w.worker.Header.Set("HX-Request", "true")
	res := w.worker.Do(http.MethodPost, staffRecord(w.ellie)+"/documents", b, ct)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("HX-Redirect"), staffRecord(w.ellie)+"#document-") {
		t.Errorf("with the header = %d %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	var n int64
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&n)
	if n != 1 {
		t.Errorf("%d documents stored, want only the one with a token", n)
	}
}

// pngWith is a small PNG with a tEXt chunk carrying a location, as a
// phone or an editor might write.
func pngWith(t *testing.T, text string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	chunk := func(typ string, data []byte) []byte {
		out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		out = append(out, typ...)
		out = append(out, data...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdrEnd := 8 + 4 + 4 + 13 + 4
	out := append([]byte{}, b[:ihdrEnd]...)
	out = append(out, chunk("tEXt", []byte("Comment\x00"+text))...)
	return append(out, b[ihdrEnd:]...)
}

func TestAPhotosLocationIsRemovedBeforeItIsStored(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	photo := pngWith(t, "GPSLatitude 51.4816 N, GPSLongitude 3.1791 W")
	res := w.send(t, w.ellie, "Photo of the garden", "IMG_0001.PNG", photo, w.mum)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send = %d: %s", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	path := holderRecord(w.ellie) + "/documents/" + strings.TrimPrefix(res.Header.Get("Location"), staffRecord(w.ellie)+"#document-")
	got := w.mumC.Get(path)
	if got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("download = %d %q", got.StatusCode, got.Header.Get("Content-Type"))
	}
	if strings.Contains(got.Body, "GPS") || strings.Contains(got.Body, "51.48") {
		t.Error("the stored photo still carries its location")
	}
	if _, err := png.Decode(strings.NewReader(got.Body)); err != nil {
		t.Errorf("the stored photo does not decode: %v", err)
	}
	if !strings.Contains(got.Header.Get("Content-Disposition"), `filename="IMG_0001.png"`) {
		t.Errorf("Content-Disposition = %q", got.Header.Get("Content-Disposition"))
	}
}

// eicar stands in for the council's virus scanner: it refuses the EICAR
// test string, as every real scanner does.
type eicar struct{ calls int }

func (s *eicar) Scan(_ context.Context, f io.ReaderAt, size int64) error {
	s.calls++
	b, err := io.ReadAll(io.NewSectionReader(f, 0, size))
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte("EICAR-STANDARD-ANTIVIRUS-TEST-FILE")) {
		return fmt.Errorf("eicar: %w", uploads.ErrInfected)
	}
	return nil
}

func TestTheVirusScannerIsCalledBeforeAnythingIsStored(t *testing.T) {
	scanner := &eicar{}
	w := newWorld(t, apptest.Options{Tune: func(d *app.Deps) { d.Scanner = scanner }})
	infected := uploadtest.PDF(1000, `<< /Comment (X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*) >>`)
	res := w.send(t, w.ellie, "Plan", "plan.pdf", infected, w.mum)
	if res.StatusCode != http.StatusUnprocessableEntity || res.Text("#file-error") == "" ||
		!strings.Contains(res.Text("#file-error"), w.a.T("uploads.error_infected")) {
		t.Fatalf("an infected file = %d %q", res.StatusCode, res.Text("#file-error"))
	}
	var n int64
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&n)
	if n != 0 || scanner.calls != 1 {
		t.Errorf("%d documents stored, the scanner called %d times", n, scanner.calls)
	}
	w.sent(t, w.ellie, "Plan", pdf(t, 1000), w.mum)
	if scanner.calls != 2 {
		t.Errorf("the clean file was not scanned: %d calls", scanner.calls)
	}
}

func TestAnUploadsTitleMustBeText(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	for _, title := range []string{"Plan\x00", "Plan \xff"} {
		if res := w.send(t, w.ellie, title, "plan.pdf", pdf(t, 100), w.mum); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Text("main"), w.a.T("errors.invalid.text")) {
			t.Errorf("a title %q = %d: %q", title, res.StatusCode, res.Text("main"))
		}
	}
	var n int64
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&n)
	if n != 0 {
		t.Errorf("%d documents stored", n)
	}
}

// TestAnUploadCutOffInsideItsFileIsTheSendersError: a body that ends in
// the middle of the file (a dropped connection, a broken client) is a 400,
// not a failure of the service, and keeps nothing.
func TestAnUploadCutOffInsideItsFileIsTheSendersError(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	w.worker.Get(staffRecord(w.ellie) + "/documents/new")
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("_csrf", w.worker.CSRF())
	for _, f := range [][2]string{{"title", "Plan"}, {"kind", "plan"}, {"recipients", id(w.mum)}} {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", "plan.pdf")
	fw.Write(pdf(t, 20000))
	cut := b.Bytes()[:b.Len()-10000] // no closing boundary: the body ends inside the file
	res := w.worker.Do(http.MethodPost, staffRecord(w.ellie)+"/documents", bytes.NewReader(cut), mw.FormDataContentType())
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("a body cut off inside the file = %d, want 400", res.StatusCode)
	}
	var n int
	w.a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&n)
	if n != 0 {
		t.Errorf("%d documents kept", n)
	}
}
