package messages

import (
	"errors"
	"io"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/attachments"
	"portal/app/uploads"
	"portal/app/web"
)

// FilesField is the name of a message form's file inputs (a chooser and
// "Take a photo"): the page's error for the files is on it.
const FilesField = "files"

// Limits on a message form read as a stream. A field holds at most a whole
// message (BodyMax characters of up to four bytes each).
const (
	maxParts     = 200
	maxFieldSize = 4*BodyMax + 1024
)

// Post is what a message form sent: its fields, and its files checked and
// spooled (attachments.Prepare). Form holds the files' errors, on
// FilesField; Status is what they call for (422, or 413 for a file too
// large) when Form has any.
type Post struct {
	Values url.Values
	Files  []attachments.Upload
	Form   *web.Form
	Status int
}

// Close removes the spooled files. A nil Post is closed already.
func (p *Post) Close() {
	if p == nil {
		return
	}
	for _, f := range p.Files {
		f.File.Close()
	}
	p.Files = nil
}

// Failed is the status for a form that is not valid: the files' own, or
// 422.
func (p *Post) Failed() int {
	if p.Status != 0 {
		return p.Status
	}
	return fiber.StatusUnprocessableEntity
}

// ReadPost reads a message form, on the holder's side or the staff's: a
// URL-encoded body (no files), or an upload's stream of parts (a route
// marked web.UploadRoute), fields and files in the form's order. A
// malformed body is a 400 and text that is not plain a 422, as for any
// form (web.TextOnly, which reads no stream). A file refused is an error on
// FilesField and the words are kept: after a file too large (413) the rest
// of the body is dropped, so the form puts its files after its fields.
func ReadPost(c *fiber.Ctx, scanner uploads.Scanner) (*Post, error) {
	p := &Post{Values: url.Values{}, Form: web.NewForm()}
	if !web.IsStreamed(c) {
		c.Request().PostArgs().VisitAll(func(k, v []byte) { p.Values.Add(string(k), string(v)) })
		return p, nil
	}
	parts, err := web.Multipart(c)
	if err != nil {
		return p, web.BadRequest("errors.bad_request.body")
	}
	for i := 0; ; i++ {
		part, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil || i >= maxParts {
			return p, web.BadRequest("errors.bad_request.body")
		}
		if part.FormName() == FilesField {
			if err := p.readFile(c, part, scanner); err != nil || p.Status == fiber.StatusRequestEntityTooLarge {
				return p, err
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
		if err != nil || len(b) > maxFieldSize {
			return p, web.BadRequest("errors.bad_request.body")
		}
		if !web.ValidText(b) || !web.ValidText([]byte(part.FormName())) {
			return p, &web.Error{Status: fiber.StatusUnprocessableEntity, Key: "errors.invalid.text"}
		}
		p.Values.Add(part.FormName(), web.PlainText(string(b)))
	}
}

// readFile checks one file part and spools it; an input left empty sends
// a part without a name, which is no file. A body cut short or malformed
// inside a file is the sender's, a 400 (it was a 500 until FuzzReadPost).
func (p *Post) readFile(c *fiber.Ctx, part *multipart.Part, scanner uploads.Scanner) error {
	return p.spoolFile(c, web.NewPartReader(part), part.FileName(), scanner)
}

// spoolFile checks the file part read by part, named name, and spools it.
func (p *Post) spoolFile(c *fiber.Ctx, part *web.PartReader, name string, scanner uploads.Scanner) error {
	if name == "" {
		return part.Drain()
	}
	if len(p.Files) == attachments.MaxFiles {
		if p.Form.Error(FilesField) == "" {
			p.Form.AddArgs(FilesField, "messages.files.error_count", "Max", attachments.MaxFiles)
		}
		return part.Drain()
	}
	f, err := attachments.Prepare(c.UserContext(), part, scanner)
	switch {
	case err == nil:
		p.Files = append(p.Files, attachments.Upload{File: f, Name: name})
		return nil
	case part.BodyError() != nil:
		return part.BodyError()
	case errors.Is(err, uploads.ErrTooLarge):
		p.Form.AddArgs(FilesField, "messages.files.error_too_large", "Name", name, "MB", attachments.MaxSize>>20)
		p.Status = fiber.StatusRequestEntityTooLarge
		web.DrainBody(c)
		return nil
	case errors.Is(err, attachments.ErrHEIC):
		p.Form.AddArgs(FilesField, "messages.files.error_heic", "Name", name)
	case uploads.Refusal(err) != "": // before ErrNotAllowed, which some wrap
		p.Form.Add(FilesField, uploads.Refusal(err))
	case errors.Is(err, uploads.ErrNotAllowed):
		p.Form.AddArgs(FilesField, "messages.files.error_type", "Name", name)
	default:
		return err
	}
	// The rest of a refused file is not read: drain it, or the next part
	// cannot be reached.
	return part.Drain()
}

// draftFrom reads what a New Message or Reply form holds.
func draftFrom(v url.Values) Draft {
	d := Draft{Subject: strings.TrimSpace(v.Get("subject")), Body: strings.ReplaceAll(v.Get("body"), "\r\n", "\n")}
	d.TypeID, _ = strconv.ParseInt(v.Get("type"), 10, 64)
	return d
}
