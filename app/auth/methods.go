package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/factors"
	"portal/app/notify"
	"portal/app/web"
)

// "Sign-in methods" (My account): the phone every account has, and the
// ways a person adds for themselves (issue 15). Every change needs a fresh
// check (FreshCheck), made with a way the person already has, and is told
// to the account's email address; the last way to sign in cannot go.

// FreshCheck is how recent a check must be before a change to how a person
// signs in: signing in counts, and so does the check the page asks for.
const FreshCheck = 10 * time.Minute

// purposeMethods binds the check before a change of sign-in methods.
const purposeMethods = "methods.confirm"

// MethodsView is what "Sign-in methods" shows.
type MethodsView struct {
	PhoneHint string
	factors.Methods
	Fresh bool // a change needs no check first
}

// methodsShow is "Sign-in methods".
func (h *Handler) methodsShow(c *fiber.Ctx) error {
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	m, err := h.Factors.MethodsOf(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "auth/methods", Title: "auth.methods.title", Form: web.NewForm(),
		Data: MethodsView{PhoneHint: p.PhoneHint, Methods: m, Fresh: h.fresh(c)}})
}

// fresh reports whether the person proved it was them within FreshCheck.
func (h *Handler) fresh(c *fiber.Ctx) bool {
	return h.Sessions.CheckedWithin(web.CurrentSession(c), FreshCheck)
}

// needFresh sends a person whose last check is too old to make one, and
// reports whether it did (then the response is written).
func (h *Handler) needFresh(c *fiber.Ctx) (bool, error) {
	if h.fresh(c) {
		return false, nil
	}
	return true, web.Redirect(c, h.Render.Path("auth.methods_check"))
}

// methodsCheck is "Confirm it's you" before a change of sign-in methods:
// the phone (a text or a call), or the authenticator app (methodsCheckApp).
func (h *Handler) methodsCheck() *phoneCheck {
	return &phoneCheck{h: h, base: "/profile/sign-in-methods/confirm", purpose: purposeMethods,
		title: "auth.methods.check_title", intro: "auth.methods.check_intro", voice: "voice_confirm_change",
		person: h.signedInPerson, restart: "auth.methods",
		passed: func(c *fiber.Ctx, _ *accounts.Person, _ confirmState, _ string) error { return h.checkedAgain(c) }}
}

// phoneChange is "Change your phone number": after a fresh check, the new
// number is typed and proven with a code or a call, as at a first sign-in,
// then replaces the old one; the account is told.
func (h *Handler) phoneChange() *phoneCheck {
	return &phoneCheck{h: h, base: "/profile/sign-in-methods/phone", purpose: purposeMethods,
		title: "auth.methods.phone_change_title", intro: "auth.methods.phone_change_intro", enrol: true,
		voice: "voice_confirm_change", restart: "auth.methods_check",
		person: func(c *fiber.Ctx) (*accounts.Person, error) {
			if !h.fresh(c) {
				return nil, nil // start again: the check first
			}
			p, err := h.People.Actor(c)
			if err != nil {
				return nil, err
			}
			typing := *p // the number on the account is the one being replaced
			typing.PhoneSealed, typing.PhoneRemovedAt = "", nil
			return &typing, nil
		},
		enrolled: func(c *fiber.Ctx, p *accounts.Person, st confirmState, number string) error {
			if err := h.People.SetPhone(c.UserContext(), p.ID, st.EnrolSealed, MaskPhone(number), st.EnrolMobile); err != nil {
				return err
			}
			if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), struct{}{}); err != nil {
				return err
			}
			if err := h.methodsChanged(c, p, "phone.changed"); err != nil {
				return err
			}
			if err := h.Sessions.AddFlash(c, "success", "auth.methods.phone_changed"); err != nil {
				return err
			}
			return web.Redirect(c, h.Render.Path("auth.methods"))
		}}
}

// checkedAgain ends a passed check: the session is fresh for FreshCheck.
func (h *Handler) checkedAgain(c *fiber.Ctx) error {
	if err := h.Sessions.MarkChecked(c.UserContext(), web.CurrentSession(c)); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.methods"))
}

// methodsChanged tells the account that a way to sign in was added or
// removed (no personal data: the email says only that), and audits what.
func (h *Handler) methodsChanged(c *fiber.Ctx, p *accounts.Person, action string) error {
	return h.changed(c, p, action, true)
}

// changed audits action and, if tell, emails the account that its
// sign-in methods changed.
func (h *Handler) changed(c *fiber.Ctx, p *accounts.Person, action string, tell bool) error {
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: action})); err != nil {
		return err
	}
	if !tell {
		return nil
	}
	return h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_methods_changed", Data: map[string]string{"Link": h.Render.Path("auth.sign_in")}})
}

// appSetup is the session's state while an app is set up: its key's URL,
// sealed.
type appSetup struct {
	Sealed string `json:"app_secret,omitempty"`
}

// AppView is "Set up an authenticator app".
type AppView struct {
	Secret string // grouped in fours, for typing
}

// appForm starts setting up an authenticator app: a new secret, kept
// sealed in the session until the person types a first code from it.
func (h *Handler) appForm(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	key, err := factors.NewAppKey(h.Render.Localizer(c).T("service.name"), p.Email)
	if err != nil {
		return err
	}
	sealed, err := h.Factors.SealAppSecret(key.URL)
	if err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), appSetup{Sealed: sealed}); err != nil {
		return err
	}
	return h.appPage(c, key.Secret, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) appPage(c *fiber.Ctx, secret string, form *web.Form, status int) error {
	return h.Render.Render(c, web.Page{Template: "auth/methods_app", Title: "auth.methods.app_title", Form: form,
		Data: AppView{Secret: groupsOfFour(secret)}, Status: status})
}

// setupKey is the app key being set up, from the session.
func (h *Handler) setupKey(c *fiber.Ctx) (*otp.Key, error) {
	var st appSetup
	if err := json.Unmarshal(web.CurrentSession(c).Data, &st); err != nil || st.Sealed == "" {
		return nil, errStartAgain
	}
	url, err := h.Factors.OpenAppSecret(st.Sealed)
	if err != nil {
		return nil, errStartAgain
	}
	return otp.NewKeyFromURL(url)
}

// appQR is the QR code of the app key being set up (a PNG; the page's
// image, never cached).
func (h *Handler) appQR(c *fiber.Ctx) error {
	key, err := h.setupKey(c)
	if err != nil {
		return web.NotFound()
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("png")
	return c.Send(buf.Bytes())
}

// appAdd takes the first code from the app being set up, keeps the app,
// and, the first time a person adds a way, shows their recovery codes.
func (h *Handler) appAdd(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	key, err := h.setupKey(c)
	if err != nil {
		return web.Redirect(c, h.Render.Path("auth.methods.app"))
	}
	if spent, _, err := h.triesSpent(c, p); err != nil || spent {
		return h.appRefused(c, key.Secret(), "auth.code.error_exhausted", fiber.StatusTooManyRequests, err)
	}
	sealed, err := h.Factors.SealAppSecret(key.Secret())
	if err != nil {
		return err
	}
	err = h.Factors.AddApp(c.UserContext(), p.ID, sealed, c.FormValue("code"))
	if errors.Is(err, factors.ErrWrong) {
		_, _, err := h.Limiter.Allow(c.UserContext(), secondTries, personKey(p))
		return h.appRefused(c, key.Secret(), "auth.methods.error_app_code", fiber.StatusUnprocessableEntity, err)
	}
	if err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), struct{}{}); err != nil {
		return err
	}
	if err := h.methodsChanged(c, p, "methods.app_added"); err != nil {
		return err
	}
	return h.afterFirstWay(c, p, "auth.methods.app_added")
}

func (h *Handler) appRefused(c *fiber.Ctx, secret, key string, status int, err error) error {
	if err != nil {
		return err
	}
	form := web.NewForm()
	form.Add("code", key)
	return h.appPage(c, secret, form, status)
}

// afterFirstWay shows new recovery codes when the person had none (their
// first way beside the phone), else goes back to the list with flash.
func (h *Handler) afterFirstWay(c *fiber.Ctx, p *accounts.Person, flash string) error {
	m, err := h.Factors.MethodsOf(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	if !m.RecoveryCodes {
		return h.recoveryCodesMake(c, p, false) // the way's own email says the methods changed
	}
	if err := h.Sessions.AddFlash(c, "success", flash); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.methods"))
}

// appRemove forgets the authenticator app, unless it is the last way.
func (h *Handler) appRemove(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	if last, err := h.lastWay(c, p); last || err != nil {
		return err
	}
	if err := h.Factors.RemoveApp(c.UserContext(), p.ID); err != nil {
		return err
	}
	if err := h.methodsChanged(c, p, "methods.app_removed"); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "auth.methods.app_removed"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.methods"))
}

// lastWay refuses to remove a person's only way to confirm it is them (the
// page says so, 422), and reports whether it did.
func (h *Handler) lastWay(c *fiber.Ctx, p *accounts.Person) (bool, error) {
	m, err := h.Factors.MethodsOf(c.UserContext(), p.ID)
	if err != nil {
		return false, err
	}
	ways := m.Count()
	if p.PhoneSealed != "" {
		ways++
	}
	if ways > 1 {
		return false, nil
	}
	form := web.NewForm()
	form.Add("methods", "auth.methods.error_last")
	return true, h.Render.Render(c, web.Page{Template: "auth/methods", Title: "auth.methods.title", Form: form,
		Data: MethodsView{PhoneHint: p.PhoneHint, Methods: m, Fresh: true}, Status: fiber.StatusUnprocessableEntity})
}

// recoveryCodesNew is "Make new recovery codes": the old ones stop working.
func (h *Handler) recoveryCodesNew(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	return h.recoveryCodesMake(c, p, true)
}

// recoveryCodesMake makes and shows the person's recovery codes, once;
// tell emails the account (new codes on their own are a change to tell).
func (h *Handler) recoveryCodesMake(c *fiber.Ctx, p *accounts.Person, tell bool) error {
	codes, err := h.Factors.NewRecoveryCodes(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	if err := h.changed(c, p, "methods.recovery_codes_made", tell); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, web.Page{Template: "auth/recovery_codes", Title: "auth.methods.recovery_title", Data: codes})
}

// groupsOfFour spaces a secret for reading aloud or typing: "ABCD EFGH …".
func groupsOfFour(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if i > 0 && i%4 == 0 {
			b = append(b, ' ')
		}
		b = append(b, s[i])
	}
	return string(b)
}
