package staff

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/clock"
	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/web"
)

// FormSendView is "Send a form": the templates, and the holders who can
// receive each.
type FormSendView struct {
	Record    *records.Record
	Templates []forms.Template
	Holders   []access.Holder
	Ticked    map[int64]bool
	// RecipientsHint is the message id of the recipients' hint.
	RecipientsHint string
}

// formNew is "Send a form". Nothing is chosen for the worker.
func (h *Handler) formNew(c *fiber.Ctx) error {
	r := teamRecord(c)
	return h.formPage(c, r, web.NewForm(), nil, fiber.StatusOK)
}

func (h *Handler) formPage(c *fiber.Ctx, r *records.Record, form *web.Form, ticked map[int64]bool, status int) error {
	v := FormSendView{Record: r, Ticked: ticked, RecipientsHint: "staff.form.recipients_hint"}
	var err error
	if v.Templates, err = h.Forms.Latest(c.UserContext()); err != nil {
		return err
	}
	if v.Holders, err = h.holdersInForce(c, r.ID); err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/form_new", Title: "staff.form.title", Data: v, Form: form, Status: status})
}

// formSend gives each ticked holder their own copy of the chosen form,
// due on the date given, and emails each "You have a form to complete".
func (h *Handler) formSend(c *fiber.Ctx) error {
	r := teamRecord(c)
	form := web.NewForm()
	form.Values["template"] = c.FormValue("template")
	form.Values["due_on"] = strings.TrimSpace(c.FormValue("due_on"))
	ticked := map[int64]bool{}
	for _, v := range c.Request().PostArgs().PeekMulti("recipients") {
		if id, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			ticked[id] = true
		}
	}
	tpl, to, due, err := h.checkFormSend(c, r, form, ticked)
	if err != nil {
		return err
	}
	if !form.Valid() {
		return h.formPage(c, r, form, ticked, fiber.StatusUnprocessableEntity)
	}
	people := make([]int64, len(to))
	for i, x := range to {
		people[i] = x.PersonID
	}
	err = h.DB.WithContext(c.UserContext()).Transaction(func(tx *gorm.DB) error {
		sent, err := h.Forms.Send(c.UserContext(), tx, tpl.ID, r.ID, people, &due, actor(c).ID)
		if err != nil {
			return err
		}
		for _, f := range sent {
			if err := h.auditTx(c, tx, "form.sent", r.ID, "form:"+itoa(f.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := h.notify(c, to, "email_new_form"); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.form.sent"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID)+"#forms")
}

// checkFormSend adds the form's errors and returns the template, the
// recipients (each holds the record now, in a relationship the template
// is for) and the due date.
func (h *Handler) checkFormSend(c *fiber.Ctx, r *records.Record, form *web.Form, ticked map[int64]bool) (forms.Template, []access.Holder, time.Time, error) {
	latest, err := h.Forms.Latest(c.UserContext())
	if err != nil {
		return forms.Template{}, nil, time.Time{}, err
	}
	i := slices.IndexFunc(latest, func(t forms.Template) bool { return strconv.FormatInt(t.ID, 10) == form.Values["template"] })
	var tpl forms.Template
	if i < 0 {
		form.Add("template", "staff.form.error_template")
	} else {
		tpl = latest[i]
	}
	holders, err := h.holdersInForce(c, r.ID)
	if err != nil {
		return tpl, nil, time.Time{}, err
	}
	var to []access.Holder
	for _, x := range holders {
		if ticked[x.PersonID] && (tpl.Template == nil || tpl.SendableTo(x.Relationship)) {
			to = append(to, x)
		}
	}
	if len(to) == 0 || len(to) != len(ticked) {
		form.Add("recipients", "staff.form.error_recipients")
	}
	due, err := time.ParseInLocation(time.DateOnly, form.Values["due_on"], clock.London)
	now := clock.Today(h.Clock)
	if err != nil || due.Before(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, clock.London)) {
		form.Add("due_on", "staff.form.error_due_on")
	}
	return tpl, to, due, nil
}

// notify emails each holder the template's message, in their language.
// Security: the email names no child, record or form, only a link to sign in.
func (h *Handler) notify(c *fiber.Ctx, to []access.Holder, template string) error {
	for _, x := range to {
		p, err := h.People.Get(c.UserContext(), x.PersonID)
		if err != nil {
			return err
		}
		if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
			Template: template, Data: map[string]string{"Link": h.Render.Path("auth.sign_in")}}); err != nil {
			return err
		}
	}
	return nil
}

// loadSubmission puts the URL's :form on the request when it is a form
// submitted on the loaded record (loadRecord runs first); anything else,
// a form not yet submitted included, is a 404.
func (h *Handler) loadSubmission(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("form"), 10, 64)
	if err != nil {
		return web.NotFound()
	}
	f, t, answers, err := h.Forms.Submitted(c.UserContext(), teamRecord(c).ID, id)
	if err != nil {
		return err
	}
	c.Locals(submissionKey, &submission{f, t, answers})
	return c.Next()
}

const submissionKey = "staff.submission"

// submission is a submitted form, its template and its answers opened.
type submission struct {
	form     *forms.Sent
	template forms.Template
	answers  formdef.Answers
}

// SubmissionView is a submitted form as its record's workers read it.
type SubmissionView struct {
	Record  *records.Record
	Form    forms.Sent
	Summary forms.Summary
}

// formShow shows a submitted form to the record's workers, ready to
// print, with its PDF. Reading it is audited.
func (h *Handler) formShow(c *fiber.Ctx) error {
	r, s := teamRecord(c), c.Locals(submissionKey).(*submission)
	f, t, answers := s.form, s.template, s.answers
	if err := h.audit(c, "form.read", r.ID, "form:"+itoa(f.ID)); err != nil {
		return err
	}
	v := SubmissionView{Record: r, Form: *f, Summary: forms.Summarise(t.Template, answers, h.Render.Localizer(c))}
	return h.page(c, web.Page{Template: "staff/form_show", Title: "staff.form.submission", Data: v})
}
