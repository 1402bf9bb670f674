package staff

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/documents"
	"portal/app/records"
	"portal/app/uploads"
	"portal/app/web"
	"portal/storage"
)

// uploadLimit is the largest document a worker can send.
const uploadLimit = uploads.Limit

// The upload is read as a stream of parts (web.Multipart), so the file goes
// from the connection to a temporary file and on to storage without being
// held in memory. The form puts every field before the file, so that a
// file too large is refused with the other answers already read, and shown
// again with them.
const (
	maxParts     = 100  // a form with more is not ours
	maxFieldSize = 1024 // bytes of one text field
)

// upload is what the "Send a document" form sent.
type upload struct {
	form       *web.Form
	recipients map[int64]bool
	file       *uploads.File // nil when none came, or it was refused
	status     int           // 422, or 413 for a file too large
}

// documentUpload sends a document to the holders the worker ticked.
func (h *Handler) documentUpload(c *fiber.Ctx) error {
	r := teamRecord(c)
	up, err := h.readUpload(c)
	if up != nil && up.file != nil {
		defer up.file.Close()
	}
	if err != nil {
		return err
	}
	holders, err := h.holdersInForce(c, r.ID)
	if err != nil {
		return err
	}
	to := checkDocument(up, holders)
	if !up.form.Valid() {
		if up.status == 0 {
			up.status = fiber.StatusUnprocessableEntity
		}
		return h.documentPage(c, r, up.form, up.recipients, up.status)
	}
	d, err := h.storeDocument(c, r, up)
	if errors.Is(err, errRecipientsChanged) {
		up.form.Add("recipients", "staff.document.error_recipients")
		return h.documentPage(c, r, up.form, up.recipients, fiber.StatusUnprocessableEntity)
	}
	if errors.Is(err, storage.ErrUnavailable) {
		// Storage is down: nothing was sent; the page keeps the title, kind
		// and recipients, and asks for the file again.
		up.form.Add("file", "errors.storage.upload")
		return h.documentPage(c, r, up.form, up.recipients, fiber.StatusServiceUnavailable)
	}
	if err != nil {
		return err
	}
	if err := h.notify(c, to, "email_new_document"); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.document.sent"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID)+"#document-"+itoa(d.ID))
}

// readUpload reads the form's parts in order. A malformed body is a 400;
// a file too large or refused is a field error.
func (h *Handler) readUpload(c *fiber.Ctx) (*upload, error) {
	mr, err := web.Multipart(c)
	if err != nil {
		return nil, web.BadRequest("errors.bad_request.body")
	}
	up := &upload{form: web.NewForm(), recipients: map[int64]bool{}}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return up, nil
		}
		if err != nil || i >= maxParts {
			return up, web.BadRequest("errors.bad_request.body")
		}
		if part.FormName() == "file" && part.FileName() != "" && up.file == nil {
			if err := h.readFile(c, up, part); err != nil {
				return up, err
			}
			if up.status == fiber.StatusRequestEntityTooLarge {
				return up, nil
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
		if err != nil {
			return up, web.BadRequest("errors.bad_request.body")
		}
		if !web.ValidText(b) {
			return up, &web.Error{Status: fiber.StatusUnprocessableEntity, Key: "errors.invalid.text"}
		}
		value := strings.TrimSpace(web.PlainText(string(b)))
		switch name := part.FormName(); name {
		case "title", "kind":
			up.form.Values[name] = value
		case "recipients":
			if id, err := strconv.ParseInt(value, 10, 64); err == nil {
				up.recipients[id] = true
			}
		}
	}
}

// readFile checks the file part and spools it (uploads.Prepare). A body
// cut short or malformed inside the file is the sender's, a 400.
func (h *Handler) readFile(c *fiber.Ctx, up *upload, part *multipart.Part) error {
	up.form.Values["file_name"] = part.FileName()
	r := web.NewPartReader(part)
	f, err := uploads.Prepare(c.UserContext(), r, uploadLimit, "", h.Scanner)
	switch {
	case err == nil:
		up.file = f
	case r.BodyError() != nil:
		return r.BodyError()
	case errors.Is(err, uploads.ErrTooLarge):
		up.form.AddArgs("file", "staff.document.error_too_large", "MB", uploadLimit>>20)
		up.status = fiber.StatusRequestEntityTooLarge
		web.DrainBody(c)
	case uploads.Refusal(err) != "": // before ErrNotAllowed, which some wrap
		up.form.Add("file", uploads.Refusal(err))
	case errors.Is(err, uploads.ErrNotAllowed):
		up.form.Add("file", "staff.document.error_type")
	default:
		return err
	}
	return nil
}

// checkDocument adds the form's errors, and returns the recipients: every
// one ticked must hold the record now.
func checkDocument(up *upload, holders []access.Holder) []access.Holder {
	f := up.form
	title := f.Values["title"]
	if title == "" {
		f.Add("title", "staff.document.error_title")
	} else if utf8.RuneCountInString(title) > documents.TitleMax {
		f.AddArgs("title", "staff.document.error_title_long", "Max", documents.TitleMax)
	}
	if !slices.Contains(documents.UploadKinds, f.Values["kind"]) {
		f.Add("kind", "staff.document.error_kind")
	}
	var to []access.Holder
	for _, x := range holders {
		if up.recipients[x.PersonID] {
			to = append(to, x)
		}
	}
	if len(to) == 0 || len(to) != len(up.recipients) {
		f.Add("recipients", "staff.document.error_recipients")
	}
	if up.file == nil && f.Error("file") == "" {
		f.Add("file", "staff.document.error_file")
	}
	// A file cannot come back in a form: the page asks for it again.
	if !f.Valid() && up.file != nil {
		up.file.Close()
		up.file = nil
	}
	return to
}

// errRecipientsChanged is a recipient whose access ended while the file
// was being stored.
var errRecipientsChanged = errors.New("staff: recipients changed")

// storeDocument puts the file in storage, then its row, recipients and
// audit event in one transaction; a failed transaction removes the file
// (or, storage failing too, the storage sweep does a day later). Storage
// down is storage.ErrUnavailable, and no row.
// The recipients are checked again after the upload to storage (seconds,
// on S3): an access that ended meanwhile gets nothing.
func (h *Handler) storeDocument(c *fiber.Ctx, r *records.Record, up *upload) (*documents.Document, error) {
	f := up.file
	key := storage.NewKey(documents.Prefix)
	name := uploads.SafeFileName(up.form.Values["file_name"], up.form.Values["title"], f.Type)
	if _, err := h.Objects.Put(c.UserContext(), key, f, uploadLimit, storage.Meta{ContentType: f.Type.ContentType, FileName: name}); err != nil {
		return nil, err
	}
	d := &documents.Document{RecordID: r.ID, Kind: up.form.Values["kind"], Title: up.form.Values["title"],
		ObjectKey: key, FileName: name, ContentType: f.Type.ContentType, Size: f.Size, SHA256: f.SHA256, SentBy: &actor(c).ID}
	recipients := make([]int64, 0, len(up.recipients))
	for id := range up.recipients {
		recipients = append(recipients, id)
	}
	err := h.stillHolders(c, r.ID, recipients)
	if err == nil {
		err = h.DB.WithContext(c.UserContext()).Transaction(func(tx *gorm.DB) error {
			if err := h.Documents.Create(c.UserContext(), tx, d, recipients); err != nil {
				return err
			}
			return h.auditTx(c, tx, "document.sent", r.ID, "document:"+itoa(d.ID))
		})
	}
	if err != nil {
		// Security: not the request's context, which may be why it failed.
		_ = h.Objects.Delete(context.WithoutCancel(c.UserContext()), key)
		return nil, err
	}
	return d, nil
}

// stillHolders checks that every recipient holds the record now.
func (h *Handler) stillHolders(c *fiber.Ctx, recordID int64, recipients []int64) error {
	holders, err := h.holdersInForce(c, recordID)
	if err != nil {
		return err
	}
	for _, p := range recipients {
		if !slices.ContainsFunc(holders, func(x access.Holder) bool { return x.PersonID == p }) {
			return errRecipientsChanged
		}
	}
	return nil
}
