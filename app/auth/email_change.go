package auth

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/notify"
	"portal/app/web"
)

// Changing the email address (guide 004, "Edit profile"): a fresh phone
// check first, then a code sent to the new address; the old address is
// told, and the person is signed out everywhere and signs in again with
// the new one.
const (
	purposeStepUp      = "phone.confirm"
	purposeEmailChange = "email_change"
)

// emailChangeCheck is the phone check before an email change.
func (h *Handler) emailChangeCheck() *phoneCheck {
	return &phoneCheck{h: h, base: "/profile/email", purpose: purposeStepUp, title: "auth.email_change.title",
		intro: "auth.email_change.check_intro", voice: "voice_confirm_change", person: h.signedInPerson, restart: "account.profile",
		passed: func(c *fiber.Ctx, p *accounts.Person, _ confirmState, _ string) error {
			st := flowState{Purpose: purposeEmailChange, CheckedAt: h.Clock.Now().Unix()}
			if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
				return err
			}
			return web.Redirect(c, h.Render.Path("auth.email_change.new"))
		}}
}

func (h *Handler) signedInPerson(c *fiber.Ctx) (*accounts.Person, error) {
	return h.People.Actor(c)
}

// emailChangeState is the journey's state if its phone check is fresh
// (within CodeLifetime), else ok is false and the journey starts again.
func (h *Handler) emailChangeState(c *fiber.Ctx) (flowState, bool) {
	st := flowOf(web.CurrentSession(c), purposeEmailChange)
	fresh := st.CheckedAt > 0 && h.Clock.Now().Unix() < st.CheckedAt+int64(CodeLifetime.Seconds())
	return st, fresh
}

func (h *Handler) emailChangePage(c *fiber.Ctx, step string, form *web.Form, status int) error {
	return h.Render.Render(c, web.Page{Template: "auth/email_change", Title: "auth.email_change.title", Form: form,
		Data: EmailFlow{Step: step, Base: h.Render.Path("auth.email_change.new"), Prefix: "auth.email_change"}, Status: status})
}

// emailChangeForm asks for the new address.
func (h *Handler) emailChangeForm(c *fiber.Ctx) error {
	if _, fresh := h.emailChangeState(c); !fresh {
		return web.Redirect(c, h.Render.Path("auth.email_change"))
	}
	return h.emailChangePage(c, "email", web.NewForm(), fiber.StatusOK)
}

// emailChangeSend sends a code to the new address (and "Send new code").
// An address that has another account gets that account's "already
// registered" email instead, and the page says the same either way.
func (h *Handler) emailChangeSend(c *fiber.Ctx) error {
	st, fresh := h.emailChangeState(c)
	if !fresh {
		return web.Redirect(c, h.Render.Path("auth.email_change"))
	}
	p, err := h.signedInPerson(c)
	if err != nil {
		return err
	}
	form := web.NewForm()
	email := strings.TrimSpace(c.FormValue("email", st.Email))
	form.Values["email"] = email
	if !web.ValidEmail(email) {
		form.Add("email", "auth.sign_in.error_email")
	} else if strings.EqualFold(email, p.Email) {
		form.Add("email", "auth.email_change.error_same")
	}
	if !form.Valid() {
		return h.emailChangePage(c, "email", form, fiber.StatusUnprocessableEntity)
	}
	until, err := h.overLimit(c, limit{changeSendsPerEmail, strings.ToLower(email)},
		limit{changeSendsPerPerson, strconv.FormatInt(p.ID, 10)})
	if err != nil {
		return err
	}
	if !until.IsZero() {
		step, field := resendStep(c)
		return h.emailChangePage(c, step, limitedForm(form, field, until), fiber.StatusTooManyRequests)
	}
	if err := h.sendAddressCode(c, email, p.Locale, purposeEmailChange, strconv.FormatInt(p.ID, 10)+":"+email); err != nil {
		return err
	}
	st.Email = email
	if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
		return err
	}
	return h.emailChangePage(c, "code", form, fiber.StatusOK)
}

// emailChangeVerify checks the new address's code and makes the change.
func (h *Handler) emailChangeVerify(c *fiber.Ctx) error {
	st, fresh := h.emailChangeState(c)
	if !fresh || st.Email == "" {
		return web.Redirect(c, h.Render.Path("auth.email_change"))
	}
	p, err := h.signedInPerson(c)
	if err != nil {
		return err
	}
	form := web.NewForm()
	form.Values["email"] = st.Email
	err = h.Codes.Check(c.UserContext(), purposeEmailChange, strconv.FormatInt(p.ID, 10)+":"+st.Email, c.FormValue("code"))
	if key := codeErrorKey(err); key != "" {
		form.Add("code", key)
		return h.emailChangePage(c, "code", form, fiber.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	if err := h.People.SetEmail(c.UserContext(), p.ID, st.Email); errors.Is(err, accounts.ErrEmailTaken) {
		form.Add("code", "auth.code.error_wrong") // taken since the code was sent: say no more than for a wrong code
		return h.emailChangePage(c, "code", form, fiber.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	return h.emailChanged(c, p)
}

// emailChanged tells the old address, and signs the person out everywhere.
func (h *Handler) emailChanged(c *fiber.Ctx, p *accounts.Person) error {
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_address_changed", Data: map[string]string{"Link": h.Render.Path("pages.help") + "#changing-your-details"}}); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "account.email_changed"})); err != nil {
		return err
	}
	if err := h.Sessions.DestroyAll(c.UserContext(), p.ID); err != nil {
		return err
	}
	if err := h.Sessions.Destroy(c); err != nil {
		return err
	}
	c.Set("Clear-Site-Data", `"cache", "storage"`)
	if err := h.Sessions.AddFlash(c, "success", "auth.email_change.done"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.sign_in"))
}
