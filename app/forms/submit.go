package forms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/documents"
	"portal/app/formdef"
	"portal/app/notify"
	"portal/app/printout"
	"portal/app/uploads"
	"portal/app/web"
	"portal/storage"
)

// Submitting (guide 000): "Check your answers" with "Submit", or "Submit
// Contribution" at the end of the form; then a confirmation step with
// "Confirm". Only Confirm submits: the form leaves Items to complete, and a
// PDF of it appears in Items to view.

// CheckView is "Check your answers".
type CheckView struct {
	Form    *Form
	Summary Summary
}

// check is "Check your answers": every page's answers, each with a link
// to change it, and Submit.
func (h *Handler) check(c *fiber.Ctx) error {
	f, t, answers, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "forms/check", Title: "forms.check.title",
		Data:   CheckView{Form: f, Summary: Summarise(t.Template, answers, h.Render.Localizer(c))},
		Record: access.Frame(access.Holding(c), "forms")})
}

// submit checks every page; a page in error is shown with its errors (422),
// else the confirmation step follows.
func (h *Handler) submit(c *fiber.Ctx) error {
	f, t, answers, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	if page, errs := t.ValidateAll(answers, h.today()); page >= 0 {
		return h.page(c, PageView{Form: f, Template: t, Page: page, Answers: answers, Revision: f.Revision, Errors: errs},
			fiber.StatusUnprocessableEntity)
	}
	return web.Redirect(c, h.Render.Path("forms.confirm", f.RecordID, f.ID))
}

// confirmShow is the confirmation step.
func (h *Handler) confirmShow(c *fiber.Ctx) error {
	f, t, _, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "forms/confirm", Title: "forms.confirm.title",
		Data:   CheckView{Form: f, Summary: Summary{Title: t.Title.In(web.Lang(c))}},
		Record: access.Frame(access.Holding(c), "forms")})
}

// confirm submits the form: its PDF goes to storage and Items to view, the
// form is marked submitted, in one transaction; the holder gets a receipt.
func (h *Handler) confirm(c *fiber.Ctx) error {
	if f, _, err := h.holderForm(c); err == nil && f.SubmittedAt != nil {
		// Confirmed before, its answer lost (the database gone after the
		// commit, or the signal), and sent again: answered as then.
		return h.confirmed(c)
	}
	f, t, answers, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	if page, _ := t.ValidateAll(answers, h.today()); page >= 0 {
		return web.Redirect(c, h.pagePath(f, page)) // changed in another tab since Submit
	}
	doc, err := h.storeCopy(c, f, t, answers)
	if errors.Is(err, storage.ErrUnavailable) {
		// Storage is down: nothing submitted, the answers stay saved.
		web.RetrySafe(c)
		return &web.Error{Status: fiber.StatusServiceUnavailable, Key: "errors.storage.form", Title: "errors.storage.form_title"}
	}
	if err != nil {
		return err
	}
	if err := h.finish(c, f, doc); err != nil {
		_ = h.Objects.Delete(context.WithoutCancel(c.UserContext()), doc.ObjectKey)
		if errors.Is(err, ErrNotFound) {
			return web.NotFound() // submitted meanwhile, in another tab
		}
		return err
	}
	person, err := h.People.Get(c.UserContext(), f.PersonID)
	if err != nil {
		return err
	}
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: person.Email,
		Lang: person.Locale, Template: "email_form_received", Data: map[string]string{"Link": h.Render.Path("auth.sign_in")}}); err != nil {
		return err
	}
	return h.confirmed(c)
}

// confirmed is Confirm's answer: Items to view, saying the form was sent.
func (h *Handler) confirmed(c *fiber.Ctx) error {
	if err := h.Sessions.AddFlash(c, "success", "forms.submitted"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("documents.list", access.Holding(c).ID))
}

// storeCopy makes the submitted form's PDF, in the holder's language, and
// puts it in storage; the caller adds its row.
func (h *Handler) storeCopy(c *fiber.Ctx, f *Form, t Template, answers formdef.Answers) (*documents.Document, error) {
	loc := h.Render.Localizer(c)
	person, err := h.People.Get(c.UserContext(), f.PersonID)
	if err != nil {
		return nil, err
	}
	held := access.Holding(c)
	v := web.ViewIn(loc)
	doc := Summarise(t.Template, answers, loc).Printout(loc,
		loc.T("forms.pdf.submitted", "Name", person.GivenName+" "+person.FamilyName, "Date", v.DateTime(h.Clock.Now())),
		loc.T("forms.pdf.record", "Name", held.FullName()))
	var buf bytes.Buffer
	if err := printout.Render(&buf, doc); err != nil {
		return nil, fmt.Errorf("forms: printout %d: %w", f.ID, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	title := t.Title.In(loc.Lang)
	name := uploads.TitleFileName(title, uploads.PDF)
	key := storage.NewKey(documents.Prefix)
	info, err := h.Objects.Put(c.UserContext(), key, &buf, uploads.Limit, storage.Meta{ContentType: uploads.PDF.ContentType, FileName: name})
	if err != nil {
		return nil, err
	}
	return &documents.Document{RecordID: f.RecordID, Kind: documents.KindCompletedForm, Title: title, ObjectKey: key,
		FileName: name, ContentType: uploads.PDF.ContentType, Size: info.Size, SHA256: hex.EncodeToString(sum[:])}, nil
}

// finish records the copy and marks the form submitted, with its audit
// event, in one transaction.
func (h *Handler) finish(c *fiber.Ctx, f *Form, doc *documents.Document) error {
	return h.DB.WithContext(c.UserContext()).Transaction(func(tx *gorm.DB) error {
		if err := h.Documents.Create(c.UserContext(), tx, doc, []int64{f.PersonID}); err != nil {
			return err
		}
		if err := h.Store.MarkSubmitted(c.UserContext(), tx, f, doc.ID); err != nil {
			return err
		}
		return h.auditFormTx(c, tx, "form.submitted", f)
	})
}
