package messages

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"testing"

	"github.com/gofiber/fiber/v2"

	"portal/app/attachments"
	"portal/app/uploads"
	"portal/app/uploads/uploadtest"
	"portal/app/web"
)

// fuzzMax bounds a fuzz input, so each costs little and memory stays
// bounded.
const fuzzMax = 1 << 20

// fuzzForm is a message form as a browser posts it: the tokens first, the
// words, then the files (a photo with its location, a PDF, an input left
// empty).
func fuzzForm(f *testing.F) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, kv := range [][2]string{{"_csrf", "token"}, {"_idem", "key"}, {"type", "3"}, {"subject", "Contact on Saturday"}, {"body", "Line one\r\nLine two"}} {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			f.Fatal(err)
		}
	}
	for _, file := range []struct {
		name string
		data []byte
	}{{"IMG_0001.jpg", uploadtest.JPEGWithLocation(16, 8)}, {"letter.pdf", uploadtest.PDF(uploadtest.MinPDF, "")}, {"", nil}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, FilesField, file.name))
		h.Set("Content-Type", "application/octet-stream")
		p, err := w.CreatePart(h)
		if err != nil {
			f.Fatal(err)
		}
		p.Write(file.data)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return w.Boundary(), b.Bytes()
}

// FuzzReadPost sends any body to ReadPost through a Fiber app configured
// as the portal's (streamed bodies, LimitBody, an upload route, the CSRF
// token read from the stream's head first). Whatever the body: the answer
// is never a server error; a form read has only valid plain text, at most
// maxParts parts and files of the types a message takes; a refusal is a
// client error; and no spooled file outlives the request. Seeds are in
// testdata/fuzz/FuzzReadPost too.
func FuzzReadPost(f *testing.F) {
	boundary, body := fuzzForm(f)
	f.Add(boundary, body)
	f.Add(boundary, body[:len(body)/2])
	f.Add(boundary, bytes.Replace(body, []byte("Line one"), []byte("Line\x00one"), 1))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx\r\n--b--\r\n"))
	f.Add("", []byte("subject=a&body=b"))

	tmp := f.TempDir()
	f.Setenv("TMPDIR", tmp) // attachments.Prepare spools to os.TempDir
	var failure error
	app, routes := fiber.New(fiber.Config{Immutable: true, StreamRequestBody: true, DisablePreParseMultipartForm: true,
		ReadBufferSize: 16 * 1024, ErrorHandler: func(c *fiber.Ctx, err error) error {
			var we *web.Error
			if errors.As(err, &we) {
				return c.Status(we.Status).SendString(we.Key)
			}
			return c.Status(fiber.StatusInternalServerError).SendString(err.Error())
		}}), web.NewRoutes()
	app.Use(web.LimitBody(64<<10, 2*attachments.MaxSize, routes), web.TextOnly())
	app.Use(func(c *fiber.Ctx) error {
		if web.IsStreamed(c) {
			web.StreamedField(c, "_csrf") // as web.CSRF does
		}
		return c.Next()
	})
	app.Post("/post", web.UploadRoute, func(c *fiber.Ctx) error {
		p, err := ReadPost(c, nil)
		defer p.Close()
		failure = checkPost(p)
		return err
	})
	if err := routes.Read(app.GetRoutes()); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		if len(body) > fuzzMax || len(boundary) > 70 { // RFC 2046: a boundary has at most 70 characters
			t.Skip()
		}
		failure = nil
		req := httptest.NewRequest(http.MethodPost, "/post", bytes.NewReader(body))
		ct := mime.FormatMediaType("multipart/form-data", map[string]string{"boundary": boundary})
		if boundary == "" {
			ct = fiber.MIMEApplicationForm
		}
		req.Header.Set("Content-Type", ct)
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("answered %d: %s", res.StatusCode, answer)
		}
		if failure != nil {
			t.Fatal(failure)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Fatalf("%d spooled files left after the request", len(left))
		}
	})
}

// checkPost is what must hold of any form ReadPost read.
func checkPost(p *Post) error {
	n := len(p.Files)
	for name, vals := range p.Values {
		n += len(vals)
		if !web.ValidText([]byte(name)) {
			return fmt.Errorf("kept a field named %q", name)
		}
		for _, v := range vals {
			if !web.ValidText([]byte(v)) || web.PlainText(v) != v {
				return fmt.Errorf("kept text %q", v)
			}
		}
	}
	if n > maxParts+1 {
		return fmt.Errorf("%d parts kept", n)
	}
	if len(p.Files) > attachments.MaxFiles {
		return fmt.Errorf("%d files kept", len(p.Files))
	}
	for _, u := range p.Files {
		if u.File.Type != uploads.JPEG && u.File.Type != uploads.PNG && u.File.Type != uploads.PDF {
			return fmt.Errorf("a file of type %v kept", u.File.Type)
		}
		b, err := io.ReadAll(u.File)
		if err != nil || int64(len(b)) != u.File.Size {
			return fmt.Errorf("a kept file of %d bytes reads %d, %v", u.File.Size, len(b), err)
		}
	}
	return nil
}
