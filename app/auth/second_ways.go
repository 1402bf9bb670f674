package auth

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/factors"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/web"
)

// secondTries bounds the wrong codes a person may type from their
// authenticator app or recovery list, as a texted code allows five tries:
// after five wrong in ten minutes they wait or use another way. Each wrong
// one also counts towards the sign-in lockout, as a wrong texted code does.
var secondTries = ratelimit.Rule{Name: "second:person", Max: 5, Window: 10 * time.Minute}

// triesSpent reports whether p has no tries left, and until when.
func (h *Handler) triesSpent(c *fiber.Ctx, p *accounts.Person) (bool, time.Time, error) {
	return h.Limiter.Spent(c.UserContext(), secondTries, personKey(p))
}

// wrongTry counts a wrong code: towards secondTries and the sign-in
// lockout (locked, the response is written: see phoneCodeFailed).
func (h *Handler) wrongTry(c *fiber.Ctx, p *accounts.Person) (locked bool, err error) {
	if _, _, err := h.Limiter.Allow(c.UserContext(), secondTries, personKey(p)); err != nil {
		return false, err
	}
	return h.phoneCodeFailed(c, p)
}

func personKey(p *accounts.Person) string { return strconv.FormatInt(p.ID, 10) }

// app takes a code from the person's authenticator app in place of the
// phone (Base/app on the check's first page).
func (pc *phoneCheck) app(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	if pc.passkeyOnly(c, p) {
		return web.Forbidden("auth.passkey.staff_only")
	}
	if spent, until, err := pc.h.triesSpent(c, p); err != nil || spent {
		if err != nil {
			return err
		}
		return pc.known(c, p, limitedForm(web.NewForm(), "app_code", until), fiber.StatusTooManyRequests)
	}
	err = pc.h.Factors.CheckApp(c.UserContext(), p.ID, c.FormValue("app_code"))
	if errors.Is(err, factors.ErrWrong) || errors.Is(err, factors.ErrNotFound) {
		if locked, err := pc.h.wrongTry(c, p); locked || err != nil {
			return err
		}
		form := web.NewForm()
		form.Add("app_code", "auth.methods.error_app_code")
		return pc.known(c, p, form, fiber.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	if err := pc.h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "methods.app_used"})); err != nil {
		return err
	}
	return pc.passed(c, p, confirmStateOf(web.CurrentSession(c)), viaApp)
}

// RecoveryView is "Use a recovery code".
type RecoveryView struct{ Base string }

// recoveryForm asks for a recovery code (sign-in only).
func (pc *phoneCheck) recoveryForm(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	return pc.recoveryPage(c, web.NewForm(), fiber.StatusOK)
}

func (pc *phoneCheck) recoveryPage(c *fiber.Ctx, form *web.Form, status int) error {
	return pc.h.Render.Render(c, web.Page{Template: "auth/recovery_code", Title: "auth.recovery.title", Form: form,
		Data: RecoveryView{Base: pc.base}, Status: status})
}

// recoveryUse spends a recovery code in place of the phone: the person is
// signed in and told by email, so a code used by someone else is noticed.
func (pc *phoneCheck) recoveryUse(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	if pc.passkeyOnly(c, p) {
		return web.Forbidden("auth.passkey.staff_only")
	}
	if spent, until, err := pc.h.triesSpent(c, p); err != nil || spent {
		if err != nil {
			return err
		}
		return pc.recoveryPage(c, limitedForm(web.NewForm(), "code", until), fiber.StatusTooManyRequests)
	}
	err = pc.h.Factors.UseRecoveryCode(c.UserContext(), p.ID, c.FormValue("code"))
	if errors.Is(err, factors.ErrWrong) {
		if locked, err := pc.h.wrongTry(c, p); locked || err != nil {
			return err
		}
		form := web.NewForm()
		form.Add("code", "auth.recovery.error_wrong")
		return pc.recoveryPage(c, form, fiber.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	if err := pc.h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "methods.recovery_code_used"})); err != nil {
		return err
	}
	if err := pc.h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_recovery_code_used", Data: map[string]string{"Link": pc.h.Render.Path("auth.methods")}}); err != nil {
		return err
	}
	return pc.passed(c, p, confirmStateOf(web.CurrentSession(c)), viaRecovery)
}
