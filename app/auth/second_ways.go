package auth

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/factors"
	"portal/app/metrics"
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

// secondWay is a code that stands in for the phone: which field holds it,
// how it is checked, what a wrong one says, the page it is typed on, and
// what is audited when it passes.
type secondWay struct {
	field, wrong, action string
	via                  string // viaApp, viaRecovery
	check                func(c *fiber.Ctx, p *accounts.Person, code string) error
	page                 func(c *fiber.Ctx, p *accounts.Person, form *web.Form, status int) error
}

// try takes a code by way w: refused for staff who must use a passkey,
// 429 once the tries are spent, 422 (and a try counted) when wrong.
func (pc *phoneCheck) try(c *fiber.Ctx, w secondWay) (*accounts.Person, bool, error) {
	p, err := pc.load(c)
	if p == nil {
		return nil, false, err
	}
	if pc.passkeyOnly(c, p) {
		return nil, false, web.Forbidden("auth.passkey.staff_only")
	}
	if spent, until, err := pc.h.triesSpent(c, p); err != nil || spent {
		if err != nil {
			return nil, false, err
		}
		pc.count(w.via, metrics.SignInLimited)
		return nil, false, w.page(c, p, limitedForm(web.NewForm(), w.field, until), fiber.StatusTooManyRequests)
	}
	err = w.check(c, p, c.FormValue(w.field))
	if errors.Is(err, factors.ErrWrong) || errors.Is(err, factors.ErrNotFound) {
		if locked, err := pc.wrongTry(c, p, w.via); locked || err != nil {
			return nil, false, err
		}
		form := web.NewForm()
		form.Add(w.field, w.wrong)
		return nil, false, w.page(c, p, form, fiber.StatusUnprocessableEntity)
	}
	if err != nil {
		return nil, false, err
	}
	return p, true, pc.h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: w.action}))
}

// app takes a code from the person's authenticator app in place of the
// phone (Base/app on the check's first page).
func (pc *phoneCheck) app(c *fiber.Ctx) error {
	p, ok, err := pc.try(c, secondWay{field: "app_code", wrong: "auth.methods.error_app_code", action: "methods.app_used", via: viaApp,
		check: func(c *fiber.Ctx, p *accounts.Person, code string) error {
			return pc.h.Factors.CheckApp(c.UserContext(), p.ID, code)
		},
		page: pc.known})
	if !ok || err != nil {
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
	return pc.recoveryPage(c, p, web.NewForm(), fiber.StatusOK)
}

func (pc *phoneCheck) recoveryPage(c *fiber.Ctx, _ *accounts.Person, form *web.Form, status int) error {
	return pc.h.Render.Render(c, web.Page{Template: "auth/recovery_code", Title: "auth.recovery.title", Form: form,
		Data: RecoveryView{Base: pc.base}, Status: status})
}

// recoveryUse spends a recovery code in place of the phone: the person is
// signed in and told by email, so a code used by someone else is noticed.
func (pc *phoneCheck) recoveryUse(c *fiber.Ctx) error {
	p, ok, err := pc.try(c, secondWay{field: "code", wrong: "auth.recovery.error_wrong", action: "methods.recovery_code_used", via: viaRecovery,
		check: func(c *fiber.Ctx, p *accounts.Person, code string) error {
			return pc.h.Factors.UseRecoveryCode(c.UserContext(), p.ID, code)
		},
		page: pc.recoveryPage})
	if !ok || err != nil {
		return err
	}
	if err := pc.h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_recovery_code_used", Data: map[string]string{"Link": pc.h.Render.Path("auth.methods")}}); err != nil {
		return err
	}
	return pc.passed(c, p, confirmStateOf(web.CurrentSession(c)), viaRecovery)
}
