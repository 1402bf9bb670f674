package auth

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/metrics"
	"portal/app/notify"
	"portal/app/web"
)

// ReenrolWindow is how long after staff remove a phone number its holder
// may add a new one at sign-in (after an emailed code). Past it, staff must
// remove the number again: a stolen password alone never adds a phone.
const ReenrolWindow = 72 * time.Hour

const (
	purposePhone   = "phone"
	purposeReenrol = "reenrol"
)

// signInCheck is "Confirm your identity" at sign-in: the second factor.
func (h *Handler) signInCheck() *phoneCheck {
	return &phoneCheck{h: h, base: "/sign-in/confirm", purpose: purposePhone, title: "auth.confirm.title",
		enrol: true, voice: "voice_sign_in", person: h.aal1Person, restart: "auth.sign_in", recovery: true,
		passed: func(c *fiber.Ctx, p *accounts.Person, st confirmState, via string) error {
			if via != viaPasskey && h.passkeyOnly(c, p) {
				// Security: the council's rule, enforced here whatever the page offered.
				return web.Forbidden("auth.passkey.staff_only")
			}
			return h.completeSignIn(c, p, st.Next, via)
		}}
}

// aal1Person returns the person of a session that has passed the password
// step but not yet the phone, or nil.
func (h *Handler) aal1Person(c *fiber.Ctx) (*accounts.Person, error) {
	sess := web.CurrentSession(c)
	if sess == nil || sess.PersonID == nil || sess.AAL != web.AAL1 {
		return nil, nil
	}
	return h.People.Get(c.UserContext(), *sess.PersonID)
}

// enrolPhone saves a number that has just passed its first check and asks
// for a second one (guide 000, step 12).
func (h *Handler) enrolPhone(c *fiber.Ctx, p *accounts.Person, st confirmState, number, base string) error {
	if err := h.People.SetPhone(c.UserContext(), p.ID, st.EnrolSealed, MaskPhone(number), st.EnrolMobile); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "phone.enrolled"})); err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), confirmState{Next: st.Next}); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "auth.confirm.enrolled"); err != nil {
		return err
	}
	return web.Redirect(c, base)
}

// completeSignIn makes the session AAL2 and goes where sign-in was asked
// for (if it is a page of ours) or home. via is how the person proved it
// was them (viaText, viaCall, viaPasskey …): the audit event names it, for
// the admin's service overview.
func (h *Handler) completeSignIn(c *fiber.Ctx, p *accounts.Person, next, via string) error {
	// Security: a new token at the second factor (session fixation).
	if _, err := h.Sessions.Rotate(c, p.ID, web.AAL2); err != nil {
		return err
	}
	if err := h.People.SignedIn(c.UserContext(), p.ID, h.Clock.Now()); err != nil {
		return err
	}
	if err := h.Lockout.Succeed(c.UserContext(), p.Email); err != nil {
		return err
	}
	if err := h.recogniseDevice(c, p); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: audit.SignedIn,
		Target: audit.SignInTarget(via)})); err != nil {
		return err
	}
	h.Metrics.SignIn(via, metrics.SignInSuccess)
	web.SetLanguage(c, p.Locale, h.Secure)
	home := h.Render.Path("access.select")
	if p.IsStaff() {
		home = h.Render.Path("staff.home")
	}
	return web.Redirect(c, web.SafeRedirect(next, home))
}

// reenrolSend emails a code before a person whose number staff removed may
// add a new one.
func (h *Handler) reenrolSend(c *fiber.Ctx) error {
	pc := h.signInCheck()
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	if pc.enrolStep(p, confirmStateOf(web.CurrentSession(c))) != "email" {
		return web.Redirect(c, pc.base)
	}
	until, err := h.overLimit(c, limit{reenrolSendsPerPerson, strconv.FormatInt(p.ID, 10)})
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return pc.page(c, ConfirmView{Step: "email"}, limitedForm(web.NewForm(), "send", until), fiber.StatusTooManyRequests)
	}
	code, err := h.Codes.Issue(c.UserContext(), purposeReenrol, p.Email)
	if err != nil {
		return err
	}
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_verification_code", Data: map[string]string{"Code": code}}); err != nil {
		return err
	}
	return pc.page(c, ConfirmView{Step: "email_code", Base: pc.base + "/email", Prefix: "auth.reenrol"}, nil, fiber.StatusOK)
}

// reenrolVerify checks the emailed code; then the number can be added.
func (h *Handler) reenrolVerify(c *fiber.Ctx) error {
	pc := h.signInCheck()
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	st := confirmStateOf(web.CurrentSession(c))
	if pc.enrolStep(p, st) != "email" {
		return web.Redirect(c, pc.base)
	}
	err = h.Codes.Check(c.UserContext(), purposeReenrol, p.Email, c.FormValue("code"))
	if key := codeErrorKey(err); key != "" {
		form := web.NewForm()
		form.Add("code", key)
		return pc.page(c, ConfirmView{Step: "email_code", Base: pc.base + "/email", Prefix: "auth.reenrol"}, form,
			fiber.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	st.EmailChecked = true
	if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
		return err
	}
	return web.Redirect(c, pc.base)
}

// VoiceAnswered is the hook the voice provider's signed callback (and the
// dev outbox's answer button) calls when a call is answered with digits.
func (h *Handler) VoiceAnswered(ctx context.Context, token, digits string) error {
	return h.Calls.Answered(ctx, token, digits)
}
