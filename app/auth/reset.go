package auth

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/notify"
	"portal/app/web"
)

const purposeReset = "reset"

// resetPage shows the "Forgot your password?" step of flow.
func (h *Handler) resetPage(c *fiber.Ctx, flow EmailFlow, form *web.Form, status int) error {
	flow.Base, flow.Prefix = h.Render.Path("auth.reset"), "auth.reset"
	return h.Render.Render(c, web.Page{Template: "auth/reset", Title: "auth.reset.title", Form: form,
		Data: flow, Status: status})
}

// resetForm is "Forgot your password?": the email step.
func (h *Handler) resetForm(c *fiber.Ctx) error {
	return h.resetPage(c, EmailFlow{Step: "email"}, web.NewForm(), fiber.StatusOK)
}

// resetSend sends a code to an address with an account, and answers the
// same for one without.
func (h *Handler) resetSend(c *fiber.Ctx) error {
	form := web.NewForm()
	email := strings.TrimSpace(c.FormValue("email"))
	if email == "" {
		email = flowOf(web.CurrentSession(c), purposeReset).Email // "Send new code"
	}
	form.Values["email"] = email
	if !web.ValidEmail(email) {
		form.Add("email", "auth.sign_in.error_email")
		return h.resetPage(c, EmailFlow{Step: "email"}, form, fiber.StatusUnprocessableEntity)
	}
	until, err := h.overLimit(c, limit{resetSendsPerEmail, strings.ToLower(email)},
		limit{resetSendsPerIP, web.IP(c)})
	if err != nil {
		return err
	}
	if !until.IsZero() {
		step, field := resendStep(c)
		return h.resetPage(c, EmailFlow{Step: step}, limitedForm(form, field, until), fiber.StatusTooManyRequests)
	}
	person, err := h.People.ByEmail(c.UserContext(), email)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return err
	}
	// Security: the same work whether or not the address has an account (a
	// code, a queued email), so the time taken tells nothing; the email to
	// an address without one is dropped by the queue unsent.
	code, err := h.Codes.Issue(c.UserContext(), purposeReset, email)
	if err != nil {
		return err
	}
	msg := notify.Message{Channel: notify.Email, To: email, Lang: web.Lang(c), Template: "email_password_reset_code",
		Data: map[string]string{"Code": code}, Discard: person == nil}
	if person != nil {
		msg.To, msg.Lang = person.Email, person.Locale
	}
	if err := h.Notifier.Send(c.UserContext(), nil, msg); err != nil {
		return err
	}
	sess, err := h.Sessions.Ensure(c)
	if err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), sess, flowState{Purpose: purposeReset, Email: email}); err != nil {
		return err
	}
	return h.resetPage(c, EmailFlow{Step: "code"}, form, fiber.StatusOK)
}

// resetVerify is "Verify Code".
func (h *Handler) resetVerify(c *fiber.Ctx) error {
	sess := web.CurrentSession(c)
	st := flowOf(sess, purposeReset)
	if st.Email == "" {
		return c.Redirect(h.Render.Path("auth.reset"), fiber.StatusSeeOther)
	}
	form, err := h.checkEmailCode(c, purposeReset, st.Email)
	if err != nil {
		return err
	}
	if !form.Valid() {
		return h.resetPage(c, EmailFlow{Step: "code"}, form, fiber.StatusUnprocessableEntity)
	}
	if err := h.Sessions.SetData(c.UserContext(), sess, flowState{Purpose: purposeReset, Email: st.Email, Verified: true}); err != nil {
		return err
	}
	return h.resetPage(c, EmailFlow{Step: "password"}, web.NewForm(), fiber.StatusOK)
}

// resetPassword is the new password, twice, and "Continue". Every session
// of the person ends; the phone step is still needed at the next sign-in.
func (h *Handler) resetPassword(c *fiber.Ctx) error {
	st := flowOf(web.CurrentSession(c), purposeReset)
	if !st.Verified {
		return c.Redirect(h.Render.Path("auth.reset"), fiber.StatusSeeOther)
	}
	form := web.NewForm()
	password, rules := checkNewPassword(c, form)
	if !form.Valid() {
		return h.resetPage(c, EmailFlow{Step: "password", Password: rules}, form, fiber.StatusUnprocessableEntity)
	}
	person, err := h.People.ByEmail(c.UserContext(), st.Email)
	if err != nil {
		return err
	}
	hash, err := h.Hasher.Hash(c.UserContext(), password)
	if err != nil {
		return err
	}
	if err := h.People.SetPassword(c.UserContext(), person.ID, hash); err != nil {
		return err
	}
	if err := h.Lockout.Succeed(c.UserContext(), person.Email); err != nil {
		return err
	}
	if err := h.Sessions.DestroyAll(c.UserContext(), person.ID); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &person.ID, Action: "account.password_reset"})); err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), flowState{}); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "auth.reset.done"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.sign_in"))
}
