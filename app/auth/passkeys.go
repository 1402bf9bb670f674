package auth

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/factors"
	"portal/app/metrics"
	"portal/app/web"
)

// Passkeys. Each ceremony is two requests: the page's script asks for
// options (a JSON answer holding a fresh challenge, which the session
// keeps), has the browser make or use a passkey, puts the result in a
// hidden field and submits the page's form as any form, so every answer
// after that is a page (a redirect, or the form again with its error).
// Without JavaScript, or in a browser without passkeys, the forms stay
// hidden and nothing else changes.

// ceremonyKey is where the session keeps an open ceremony's challenge (one,
// used once), beside what it already holds (a sign-in's next page, say).
const ceremonyKey = "passkey"

// keepCeremony puts a ceremony's challenge in the session.
func (h *Handler) keepCeremony(c *fiber.Ctx, sess *web.Session, ceremony *webauthn.SessionData) error {
	data := map[string]json.RawMessage{}
	_ = json.Unmarshal(sess.Data, &data)
	b, err := json.Marshal(ceremony)
	if err != nil {
		return err
	}
	data[ceremonyKey] = b
	return h.Sessions.SetData(c.UserContext(), sess, data)
}

// takeCeremony returns the session's ceremony and forgets it: a challenge
// answers one request, right or wrong.
func (h *Handler) takeCeremony(c *fiber.Ctx) (*webauthn.SessionData, error) {
	sess := web.CurrentSession(c)
	if sess == nil {
		return nil, nil
	}
	data := map[string]json.RawMessage{}
	_ = json.Unmarshal(sess.Data, &data)
	var ceremony webauthn.SessionData
	if raw, ok := data[ceremonyKey]; !ok || json.Unmarshal(raw, &ceremony) != nil {
		return nil, nil
	}
	delete(data, ceremonyKey)
	return &ceremony, h.Sessions.SetData(c.UserContext(), sess, data)
}

// passkeyLoginOptions starts a sign-in with a passkey: from "Sign in" (no
// password: the passkey is both steps) or from "Confirm your identity"
// (after the password).
func (h *Handler) passkeyLoginOptions(c *fiber.Ctx) error {
	assertion, ceremony, err := h.Passkeys.BeginDiscoverableLogin(factors.LoginOptions...)
	if err != nil {
		return err
	}
	sess, err := h.Sessions.Ensure(c)
	if err != nil {
		return err
	}
	if err := h.keepCeremony(c, sess, ceremony); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(assertion.Response)
}

// passkeySignIn checks a passkey's answer and signs its person in. After a
// password, the passkey must be that person's.
func (h *Handler) passkeySignIn(c *fiber.Ctx) error {
	ceremony, err := h.takeCeremony(c)
	if err != nil {
		return err
	}
	p, err := h.passkeyPerson(c, ceremony)
	if err != nil {
		return err
	}
	if p == nil {
		h.Metrics.SignIn(viaPasskey, metrics.SignInFailed)
		return h.passkeyRefused(c)
	}
	if until, err := h.Lockout.LockedUntil(c.UserContext(), p.Email); err != nil {
		return err
	} else if !until.IsZero() {
		h.Metrics.SignIn(viaPasskey, metrics.SignInLocked)
		form := web.NewForm()
		return h.signInLocked(c, form, until)
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "methods.passkey_used"})); err != nil {
		return err
	}
	next := web.SafeRedirect(c.FormValue("next"), confirmStateOf(web.CurrentSession(c)).Next)
	return h.completeSignIn(c, p, next, viaPasskey)
}

// passkeyPerson is the active person a passkey's answer proves, or nil.
func (h *Handler) passkeyPerson(c *fiber.Ctx, ceremony *webauthn.SessionData) (*accounts.Person, error) {
	if ceremony == nil {
		return nil, nil
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(c.FormValue("assertion")))
	if err != nil {
		return nil, nil
	}
	user, cred, err := h.Passkeys.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
		return h.Factors.PasskeyUserByHandle(c.UserContext(), handle)
	}, *ceremony, parsed)
	if err != nil {
		return nil, nil // Security: another origin, a replayed or forged answer, an unknown passkey: all the same
	}
	pu := user.(*factors.PasskeyUser)
	if sess := web.CurrentSession(c); sess != nil && sess.PersonID != nil && *sess.PersonID != pu.PersonID {
		return nil, nil // after a password, only that person's passkey
	}
	if err := h.Factors.PasskeyUsed(c.UserContext(), pu.PersonID, cred); errors.Is(err, factors.ErrCloned) || errors.Is(err, factors.ErrWrong) {
		return nil, h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &pu.PersonID, Action: "methods.passkey_refused"}))
	} else if err != nil {
		return nil, err
	}
	return h.People.Get(c.UserContext(), pu.PersonID)
}

// passkey takes a passkey in place of the phone on a check's first page
// (Base/passkey): at sign-in after the password, or before a change.
func (pc *phoneCheck) passkey(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	ceremony, err := pc.h.takeCeremony(c)
	if err != nil {
		return err
	}
	proved, err := pc.h.passkeyPerson(c, ceremony)
	if err != nil {
		return err
	}
	if proved == nil || proved.ID != p.ID {
		pc.count(viaPasskey, metrics.SignInFailed)
		form := web.NewForm()
		form.Add("passkey", "auth.passkey.error_failed")
		return pc.known(c, p, form, fiber.StatusUnprocessableEntity)
	}
	if err := pc.h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "methods.passkey_used"})); err != nil {
		return err
	}
	return pc.passed(c, p, confirmStateOf(web.CurrentSession(c)), viaPasskey)
}

// passkeyRefused shows "Sign in" again saying the passkey did not work.
func (h *Handler) passkeyRefused(c *fiber.Ctx) error {
	form := web.NewForm()
	form.Add("passkey", "auth.passkey.error_failed")
	return h.signInInvalid(c, form)
}

// passkeyForm is "Add a passkey": a name, then the browser's own dialog.
func (h *Handler) passkeyForm(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	return h.passkeyPage(c, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) passkeyPage(c *fiber.Ctx, form *web.Form, status int) error {
	return h.Render.Render(c, web.Page{Template: "auth/methods_passkey", Title: "auth.passkey.add_title", Form: form,
		Status: status})
}

// passkeyUser is the signed-in person as WebAuthn sees them.
func (h *Handler) passkeyUser(c *fiber.Ctx) (*accounts.Person, *factors.PasskeyUser, error) {
	p, err := h.People.Actor(c)
	if err != nil {
		return nil, nil, err
	}
	u, err := h.Factors.PasskeyUserOf(c.UserContext(), p.ID, p.Email, p.FullName())
	return p, u, err
}

// passkeyRegisterOptions starts adding a passkey (JSON for the script).
func (h *Handler) passkeyRegisterOptions(c *fiber.Ctx) error {
	if !h.fresh(c) {
		return web.Forbidden("auth.methods.check_first")
	}
	_, u, err := h.passkeyUser(c)
	if err != nil {
		return err
	}
	creation, ceremony, err := h.Passkeys.BeginRegistration(u, factors.RegistrationOptions(u.Credentials)...)
	if err != nil {
		return err
	}
	if err := h.keepCeremony(c, web.CurrentSession(c), ceremony); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(creation.Response)
}

// passkeyNameMax bounds a passkey's name ("My phone", "Work laptop").
const passkeyNameMax = 60

// passkeyAdd keeps the passkey the browser made, under its name.
func (h *Handler) passkeyAdd(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	ceremony, err := h.takeCeremony(c)
	if err != nil {
		return err
	}
	form := web.NewForm()
	name := strings.TrimSpace(c.FormValue("name"))
	form.Values["name"] = name
	switch {
	case name == "":
		form.Add("name", "auth.passkey.error_name")
	case utf8.RuneCountInString(name) > passkeyNameMax:
		form.AddArgs("name", "auth.passkey.error_name_long", "Max", passkeyNameMax)
	}
	if !form.Valid() {
		return h.passkeyPage(c, form, fiber.StatusUnprocessableEntity)
	}
	p, u, err := h.passkeyUser(c)
	if err != nil {
		return err
	}
	parsed, perr := protocol.ParseCredentialCreationResponseBytes([]byte(c.FormValue("credential")))
	if ceremony == nil || perr != nil {
		form.Add("name", "auth.passkey.error_add")
		return h.passkeyPage(c, form, fiber.StatusUnprocessableEntity)
	}
	cred, err := h.Passkeys.CreateCredential(u, *ceremony, parsed)
	if err != nil {
		form.Add("name", "auth.passkey.error_add")
		return h.passkeyPage(c, form, fiber.StatusUnprocessableEntity)
	}
	if err := h.Factors.AddPasskey(c.UserContext(), p.ID, name, cred); err != nil {
		return err
	}
	if err := h.methodsChanged(c, p, "methods.passkey_added"); err != nil {
		return err
	}
	return h.afterFirstWay(c, p, "auth.passkey.added")
}

// passkeyRemove forgets one of the person's passkeys, unless it is their
// last way to confirm it is them.
func (h *Handler) passkeyRemove(c *fiber.Ctx) error {
	if done, err := h.needFresh(c); done {
		return err
	}
	id, err := strconv.ParseInt(c.Params("passkey"), 10, 64)
	if err != nil {
		return web.NotFound()
	}
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	if last, err := h.lastWay(c, p); last || err != nil {
		return err
	}
	if err := h.Factors.RemovePasskey(c.UserContext(), p.ID, id); err != nil {
		return err
	}
	if err := h.methodsChanged(c, p, "methods.passkey_removed"); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "auth.passkey.removed"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.methods"))
}

// passkeyOnly reports whether p must sign in with a passkey: staff, where
// the council asks it (STAFF_PASSKEYS), once they have one. Unsure (the
// database did not answer), it says yes: the rule is never skipped.
func (h *Handler) passkeyOnly(c *fiber.Ctx, p *accounts.Person) bool {
	if !h.StaffPasskeys || !p.IsStaff() {
		return false
	}
	has, err := h.Factors.HasPasskey(c.UserContext(), p.ID)
	return err != nil || has
}

// RequireStaffPasskey sends a member of staff without a passkey, where the
// council asks for one (STAFF_PASSKEYS), to add one before the staff view:
// they signed in with the phone this once, and the session is fresh.
func (h *Handler) RequireStaffPasskey() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !h.StaffPasskeys {
			return c.Next()
		}
		has, err := h.Factors.HasPasskey(c.UserContext(), *web.CurrentSession(c).PersonID)
		if err != nil {
			return err
		}
		if has {
			return c.Next()
		}
		if err := h.Sessions.AddFlash(c, "important", "auth.passkey.staff_add"); err != nil {
			return err
		}
		return web.Redirect(c, h.Render.Path("auth.methods.passkey"))
	}
}
