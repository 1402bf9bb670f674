package auth

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/metrics"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/web"
)

// signInAttempts bounds password tries per client address; the per-email
// lockout of the identity issue comes on top.
var signInAttempts = ratelimit.Rule{Name: "signin:ip", Max: 30, Window: 15 * time.Minute}

// methodPassword is the password step's method in the sign-in metrics;
// the second step's are its ways (viaText …).
const methodPassword = "password"

// signInForm shows "Sign in".
func (h *Handler) signInForm(c *fiber.Ctx) error {
	if web.CurrentSession(c).SignedIn() {
		return c.Redirect(h.Render.Path("access.select"), fiber.StatusSeeOther)
	}
	form := web.NewForm()
	form.Values["next"] = web.SafeRedirect(c.Query("next"), "")
	return h.Render.Render(c, web.Page{Template: "auth/sign_in", Title: "auth.sign_in.title", Form: form})
}

// signIn checks the email and password. Known and unknown emails get the
// same answer and the same work (a dummy hash runs for unknown ones).
func (h *Handler) signIn(c *fiber.Ctx) error {
	form := web.NewForm()
	email := strings.TrimSpace(c.FormValue("email"))
	form.Values["email"] = email
	form.Values["next"] = web.SafeRedirect(c.FormValue("next"), "")
	if !web.ValidEmail(email) {
		form.Add("email", "auth.sign_in.error_email")
	}
	password := c.FormValue("password")
	if password == "" {
		form.Add("password", "auth.sign_in.error_password")
	}
	if !form.Valid() {
		return h.signInInvalid(c, form)
	}
	ok, until, err := h.Limiter.Allow(c.UserContext(), signInAttempts, web.IP(c))
	if err != nil {
		return err
	}
	if !ok {
		h.Metrics.SignIn(methodPassword, metrics.SignInLimited)
		c.Set(fiber.HeaderRetryAfter, until.Format(time.RFC1123))
		return web.TooManyRequests()
	}
	if until, err := h.Lockout.LockedUntil(c.UserContext(), email); err != nil {
		return err
	} else if !until.IsZero() {
		h.Metrics.SignIn(methodPassword, metrics.SignInLocked)
		// Security: the same answer while locked, even for the right password.
		return h.signInLocked(c, form, until)
	}
	person, err := h.People.ByEmail(c.UserContext(), email)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return err
	}
	hash := ""
	if person != nil && person.Status == "active" {
		hash = person.PasswordHash
	}
	match, err := h.Hasher.Verify(c.UserContext(), hash, password)
	if errors.Is(err, ErrBusy) {
		// The form again, the email kept, with "try again in a moment".
		h.Metrics.SignIn(methodPassword, metrics.SignInBusy)
		form.Add("password", "auth.sign_in.error_busy")
		c.Set(fiber.HeaderRetryAfter, busyRetry)
		return h.Render.Render(c, web.Page{Template: "auth/sign_in", Title: "auth.sign_in.title", Form: form,
			Status: fiber.StatusServiceUnavailable})
	}
	if err != nil {
		return err
	}
	if !match {
		return h.signInFailed(c, form, email, person)
	}
	if err := h.Lockout.Succeed(c.UserContext(), email); err != nil {
		return err
	}
	// Security: a new session at AAL1; nothing past sign-in accepts it.
	sess, err := h.Sessions.Rotate(c, person.ID, web.AAL1)
	if err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), sess, confirmState{Next: form.Values["next"]}); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &person.ID, Action: "session.password_checked"})); err != nil {
		return err
	}
	h.Metrics.SignIn(methodPassword, metrics.SignInSuccess)
	return web.Redirect(c, h.Render.Path("auth.confirm"))
}

// busyRetry is the Retry-After of a sign-in refused in a storm: a few
// hashes' time.
const busyRetry = "5"

// signInFailed counts a wrong password; the tenth in a row locks the email
// for an hour and tells the account's holder, if there is one.
func (h *Handler) signInFailed(c *fiber.Ctx, form *web.Form, email string, person *accounts.Person) error {
	locked, err := h.Lockout.Fail(c.UserContext(), email)
	if err != nil {
		return err
	}
	if !locked {
		h.Metrics.SignIn(methodPassword, metrics.SignInFailed)
		form.Add("email", "auth.sign_in.error_wrong")
		return h.signInInvalid(c, form)
	}
	h.Metrics.SignIn(methodPassword, metrics.SignInLocked)
	if person != nil {
		if err := h.tellLocked(c, person); err != nil {
			return err
		}
	}
	return h.signInLocked(c, form, h.Clock.Now().Add(LockoutDuration))
}

// tellLocked emails the holder that sign-in was locked, and audits it.
func (h *Handler) tellLocked(c *fiber.Ctx, person *accounts.Person) error {
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: person.Email,
		Lang: person.Locale, Template: "email_account_locked", Data: map[string]string{"Link": h.Render.Path("pages.help") + "#locked-out"}}); err != nil {
		return err
	}
	return h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &person.ID, Action: "account.locked"}))
}

func (h *Handler) signInLocked(c *fiber.Ctx, form *web.Form, until time.Time) error {
	form.Add("email", "auth.sign_in.error_locked")
	form.Values["locked_until"] = until.In(clock.London).Format("15:04")
	return h.signInInvalid(c, form)
}

func (h *Handler) signInInvalid(c *fiber.Ctx, form *web.Form) error {
	return h.Render.Render(c, web.Page{Template: "auth/sign_in", Title: "auth.sign_in.title", Form: form,
		Status: fiber.StatusUnprocessableEntity})
}
