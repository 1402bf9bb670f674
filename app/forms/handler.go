package forms

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/documents"
	"portal/app/formdef"
	"portal/app/notify"
	"portal/app/web"
	"portal/storage"
)

// Deps are what the holder's forms pages work with.
type Deps struct {
	DB        *gorm.DB // a submission's transaction spans forms and documents
	Render    *web.Renderer
	Store     *Store
	Documents *documents.Store // where a submitted form's copy goes
	Objects   storage.Store
	People    *accounts.Store
	Audit     *audit.Log
	Sessions  *web.Sessions
	Notifier  *notify.Notifier
	Clock     clock.Clock
}

// Handler serves "Items to complete" to a record's holders.
type Handler struct{ Deps }

// NewHandler returns the holder's forms handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds "Items to complete" to the group of a record's pages, which
// lets through only a holder of the record.
func (h *Handler) Mount(rec fiber.Router) {
	rec.Get("/forms", h.list).Name("forms.list")
	rec.Get("/forms/:form<int>", h.resume).Name("forms.resume")
	rec.Get("/forms/:form<int>/pages/:page<int>", h.pageShow).Name("forms.page")
	rec.Post("/forms/:form<int>/pages/:page<int>", web.LateDraft, h.pageSave).Name("forms.page.save")
	rec.Get("/forms/:form<int>/check", h.check).Name("forms.check")
	rec.Post("/forms/:form<int>/submit", h.submit).Name("forms.submit")
	rec.Get("/forms/:form<int>/confirm", h.confirmShow).Name("forms.confirm")
	rec.Post("/forms/:form<int>/confirm", h.confirm).Name("forms.confirm.post")
}

// list is "Items to complete": this holder's forms not yet submitted.
func (h *Handler) list(c *fiber.Ctx) error {
	held := access.Holding(c)
	waiting, err := h.Store.ForHolder(c.UserContext(), *web.CurrentSession(c).PersonID, held.ID)
	if err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "forms/list", Title: "records.nav.forms", Data: waiting,
		Record: access.Frame(held, "forms")})
}

// holderForm loads the URL's form as this holder's, with its template;
// a submitted form is found too (pages refuse to change it).
func (h *Handler) holderForm(c *fiber.Ctx) (*Form, Template, error) {
	held := access.Holding(c)
	id, err := c.ParamsInt("form")
	if err != nil {
		return nil, Template{}, web.NotFound()
	}
	f, err := h.Store.HolderForm(c.UserContext(), *web.CurrentSession(c).PersonID, held.ID, int64(id))
	if err != nil {
		return nil, Template{}, err
	}
	t, err := h.Store.TemplateByID(c.UserContext(), f.TemplateID)
	return f, t, err
}

// unsubmitted is the URL's form as this holder's, with its template and
// answers, while it can still change: a submitted form is a 404 here.
func (h *Handler) unsubmitted(c *fiber.Ctx) (*Form, Template, formdef.Answers, error) {
	f, t, err := h.holderForm(c)
	if err != nil {
		return nil, t, nil, err
	}
	if f.SubmittedAt != nil {
		return nil, t, nil, web.NotFound()
	}
	answers, err := h.Store.AnswersOf(f)
	return f, t, answers, err
}

// resume opens a form where the holder left it.
func (h *Handler) resume(c *fiber.Ctx) error {
	f, t, _, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	return web.Redirect(c, h.pagePath(f, min(f.Page, len(t.Pages)-1)))
}

// pageNumber is the URL's page as an index of t's pages, or a 404.
func pageNumber(c *fiber.Ctx, t Template) (int, error) {
	n, err := c.ParamsInt("page")
	if err != nil || n < 1 || n > len(t.Pages) {
		return 0, web.NotFound()
	}
	return n - 1, nil
}

// pageShow is one page of a form with the answers saved so far. Opening a
// form is audited.
func (h *Handler) pageShow(c *fiber.Ctx) error {
	f, t, answers, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	page, err := pageNumber(c, t)
	if err != nil {
		return err
	}
	if err := h.auditForm(c, "form.opened", f); err != nil {
		return err
	}
	return h.page(c, PageView{Form: f, Template: t, Page: page, Answers: answers, Revision: f.Revision}, fiber.StatusOK)
}

// The buttons of a form page.
const (
	actionContinue = "continue" // validate this page, save, next page
	actionBack     = "back"     // save as typed, previous page
	actionSave     = "save"     // save as typed, stay (the "Save" inside long pages)
	actionLater    = "later"    // save as typed, back to Items to complete
	actionSubmit   = "submit"   // "Submit Contribution" at the form's end: save, then submit
	// actionAutosave is the page saving itself as the person types, and
	// before an idle sign-out: save as typed, stay, answer with the new
	// revision only.
	actionAutosave = "autosave"
)

// pageSave saves the page's answers (every button saves: nothing typed is
// lost) and moves as the button says. Only Continue validates; an invalid
// page is shown again with its answers and a 422. A save from an older
// revision is refused and the page shows the newer answers.
func (h *Handler) pageSave(c *fiber.Ctx) error {
	f, t, saved, err := h.unsubmitted(c)
	if err != nil {
		return err
	}
	page, err := pageNumber(c, t)
	if err != nil {
		return err
	}
	posted := formdef.Normalise(t.Template, page, postedAnswers(c, t.Template, page))
	revision, _ := strconv.Atoi(c.FormValue("revision"))
	action := c.FormValue("action")
	if web.InGrace(c) {
		// Security: a final save that arrived after the session ended
		// keeps the answers and does nothing else.
		action = actionAutosave
	}
	v := PageView{Form: f, Template: t, Page: page, Answers: merge(saved, t.Template, page, posted), Revision: revision}
	if action == actionContinue || action == actionSubmit {
		v.Errors = t.Validate(page, posted, h.today())
	}
	next := page
	switch {
	case action == actionContinue && len(v.Errors) == 0:
		next = min(page+1, len(t.Pages)-1)
	case action == actionBack:
		next = max(page-1, 0)
	}
	newRevision, err := h.Store.Save(c.UserContext(), f, revision, v.Answers, next)
	if errors.Is(err, ErrConflict) && action == actionAutosave {
		// The person is told when they next press a button.
		return c.SendStatus(fiber.StatusConflict)
	}
	if errors.Is(err, ErrConflict) {
		return h.conflict(c, f, t, page)
	}
	if err != nil {
		return err
	}
	if action != actionAutosave { // every few seconds: the explicit saves are the trail
		if err := h.auditForm(c, "form.saved", f); err != nil {
			return err
		}
	}
	v.Revision = newRevision
	if action == actionAutosave {
		return h.Render.Render(c, web.Page{Template: "forms/_revision", Data: v})
	}
	if len(v.Errors) > 0 {
		return h.page(c, v, fiber.StatusUnprocessableEntity)
	}
	return h.moveOn(c, f, t, page, next, action)
}

// moveOn answers a successful save: where the button leads.
func (h *Handler) moveOn(c *fiber.Ctx, f *Form, t Template, page, next int, action string) error {
	switch {
	case action == actionLater:
		if err := h.Sessions.AddFlash(c, "success", "forms.saved_for_later"); err != nil {
			return err
		}
		return web.Redirect(c, h.Render.Path("forms.list", f.RecordID))
	case action == actionContinue && page == len(t.Pages)-1:
		return web.Redirect(c, h.Render.Path("forms.check", f.RecordID, f.ID))
	case action == actionSubmit:
		return h.submit(c)
	case action == actionSave:
		if err := h.Sessions.AddFlash(c, "success", "forms.saved"); err != nil {
			return err
		}
	}
	return web.Redirect(c, h.pagePath(f, next))
}

// conflict shows the page again with what is saved now (from another tab
// or device), and says so: the person's last changes were not saved over it.
func (h *Handler) conflict(c *fiber.Ctx, f *Form, t Template, page int) error {
	now, err := h.Store.HolderForm(c.UserContext(), f.PersonID, f.RecordID, f.ID)
	if err != nil {
		return err
	}
	answers, err := h.Store.AnswersOf(now)
	if err != nil {
		return err
	}
	v := PageView{Form: now, Template: t, Page: page, Answers: answers, Revision: now.Revision, Conflict: true}
	return h.page(c, v, fiber.StatusConflict)
}

func (h *Handler) page(c *fiber.Ctx, v PageView, status int) error {
	held := access.Holding(c)
	v.Lang = web.Lang(c)
	form := web.NewForm()
	for _, e := range v.Errors {
		form.Errors = append(form.Errors, FieldError(e, v.Lang))
	}
	return h.Render.Render(c, web.Page{Template: "forms/page", Title: "forms.page.title", Data: v, Form: form,
		Status: status, Record: access.Frame(held, "forms")})
}

func (h *Handler) auditForm(c *fiber.Ctx, action string, f *Form) error {
	return h.auditFormTx(c, nil, action, f)
}

// auditFormTx is auditForm inside the transaction of the change it records.
func (h *Handler) auditFormTx(c *fiber.Ctx, tx *gorm.DB, action string, f *Form) error {
	person := *web.CurrentSession(c).PersonID
	return h.Audit.Write(c.UserContext(), tx, web.FromRequest(c, audit.Event{ActorID: &person, Action: action, RecordID: &f.RecordID,
		Target: "form:" + itoa(f.ID)}))
}

// today is the calendar day in London, for date rules.
func (h *Handler) today() time.Time { return clock.Today(h.Clock) }

// postedAnswers reads the page's fields from the posted form.
func postedAnswers(c *fiber.Ctx, t *formdef.Template, page int) formdef.Answers {
	a := formdef.Answers{}
	args := c.Request().PostArgs()
	for _, f := range t.Pages[page].Fields {
		for _, v := range args.PeekMulti(f.Name) {
			a[f.Name] = append(a[f.Name], string(v))
		}
	}
	return a
}

// merge is saved with page's fields replaced by posted (an emptied field
// is emptied).
func merge(saved formdef.Answers, t *formdef.Template, page int, posted formdef.Answers) formdef.Answers {
	out := formdef.Answers{}
	for k, v := range saved {
		out[k] = v
	}
	for _, f := range t.Pages[page].Fields {
		delete(out, f.Name)
		if v, ok := posted[f.Name]; ok {
			out[f.Name] = v
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// pagePath is the path of a form's page; page counts from 0, the path's
// number from 1.
func (h *Handler) pagePath(f *Form, page int) string {
	return h.Render.Path("forms.page", f.RecordID, f.ID, page+1)
}
