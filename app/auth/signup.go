package auth

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/web"
)

// Limits on emailed codes (sign up, reset, a new phone, a new address): per
// address and per client address or person, so the portal cannot be used
// to flood someone's inbox.
var (
	signUpSendsPerEmail   = ratelimit.Rule{Name: "signup:email", Max: 5, Window: time.Hour}
	signUpSendsPerIP      = ratelimit.Rule{Name: "signup:ip", Max: 20, Window: time.Hour}
	resetSendsPerEmail    = ratelimit.Rule{Name: "reset:email", Max: 5, Window: time.Hour}
	resetSendsPerIP       = ratelimit.Rule{Name: "reset:ip", Max: 20, Window: time.Hour}
	reenrolSendsPerPerson = ratelimit.Rule{Name: "reenrol:person", Max: 5, Window: time.Hour}
	changeSendsPerEmail   = ratelimit.Rule{Name: "change:email", Max: 5, Window: time.Hour}
	changeSendsPerPerson  = ratelimit.Rule{Name: "change:person", Max: 10, Window: time.Hour}
)

const purposeSignUp = "signup"

// flowState travels in the session between the steps of an email-code
// journey. It belongs to one purpose: a code verified while signing up
// does not open "Forgot your password?".
type flowState struct {
	Purpose  string `json:"flow_purpose,omitempty"`
	Email    string `json:"flow_email,omitempty"`
	Verified bool   `json:"flow_verified,omitempty"`
	// CheckedAt is when a phone check passed (unix seconds), for journeys
	// that need a fresh one first (changing the email address).
	CheckedAt int64 `json:"flow_checked_at,omitempty"`
}

// flowOf is the session's journey state for purpose, or an empty one.
func flowOf(sess *web.Session, purpose string) flowState {
	var st flowState
	if sess != nil {
		_ = json.Unmarshal(sess.Data, &st)
	}
	if st.Purpose != purpose {
		return flowState{}
	}
	return st
}

// EmailFlow is the page data of the email-code journeys: which step, under
// which path, with which journey's words.
type EmailFlow struct {
	Step   string // "email", "code", then the journey's own steps
	Base   string // "/sign-up" or "/forgot-password"
	Prefix string // message ids: "auth.sign_up" or "auth.reset"

	// Password is how the new password last submitted met each rule, for
	// a page without JavaScript; nil before a submit. It never holds the
	// password itself.
	Password []PasswordRule
}

// PasswordRules are the rules the new-password step lists (views/auth/
// _new_password.html): marked as Password met them, once one was submitted.
func (f EmailFlow) PasswordRules() []PasswordRule {
	if f.Password != nil {
		return f.Password
	}
	rules, _ := CheckPassword("")
	return rules
}

// PasswordShape is the rules the new-password step's script checks.
func (f EmailFlow) PasswordShape() PasswordShape { return Shape() }

// signUpPage shows the sign-up step of flow.
func (h *Handler) signUpPage(c *fiber.Ctx, flow EmailFlow, form *web.Form, status int) error {
	flow.Base, flow.Prefix = h.Render.Path("auth.sign_up"), "auth.sign_up"
	return h.Render.Render(c, web.Page{Template: "auth/sign_up", Title: "auth.sign_up.title", Form: form,
		Data: flow, Status: status})
}

// signUpForm is "Sign up now": the email address step.
func (h *Handler) signUpForm(c *fiber.Ctx) error {
	return h.signUpPage(c, EmailFlow{Step: "email"}, web.NewForm(), fiber.StatusOK)
}

// signUpSend is "Send verification code" (and "Send new code"). It answers
// the same whether or not the address has an account; an address that has
// one is told so by email instead of getting a code.
func (h *Handler) signUpSend(c *fiber.Ctx) error {
	form := web.NewForm()
	email := strings.TrimSpace(c.FormValue("email"))
	if email == "" {
		email = flowOf(web.CurrentSession(c), purposeSignUp).Email // "Send new code"
	}
	form.Values["email"] = email
	if !web.ValidEmail(email) {
		form.Add("email", "auth.sign_in.error_email")
		return h.signUpPage(c, EmailFlow{Step: "email"}, form, fiber.StatusUnprocessableEntity)
	}
	until, err := h.overLimit(c, limit{signUpSendsPerEmail, strings.ToLower(email)},
		limit{signUpSendsPerIP, web.IP(c)})
	if err != nil {
		return err
	}
	if !until.IsZero() {
		step, field := resendStep(c)
		return h.signUpPage(c, EmailFlow{Step: step}, limitedForm(form, field, until), fiber.StatusTooManyRequests)
	}
	if err := h.sendAddressCode(c, email, web.Lang(c), purposeSignUp, email); err != nil {
		return err
	}
	sess, err := h.Sessions.Ensure(c)
	if err != nil {
		return err
	}
	if err := h.Sessions.SetData(c.UserContext(), sess, flowState{Purpose: purposeSignUp, Email: email}); err != nil {
		return err
	}
	return h.signUpPage(c, EmailFlow{Step: "code"}, form, fiber.StatusOK)
}

// sendAddressCode emails a verification code for purpose and subject to an
// address that has no account yet; an address that has one gets the
// "already registered" email instead. Security: the caller answers the same
// either way, so nobody learns which addresses have accounts.
func (h *Handler) sendAddressCode(c *fiber.Ctx, email, lang, purpose, subject string) error {
	_, err := h.People.ByEmail(c.UserContext(), email)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return err
	}
	// Security: a code is issued either way (one the "already registered"
	// email never carries), so both answers take the same work and time.
	code, cerr := h.Codes.Issue(c.UserContext(), purpose, subject)
	if cerr != nil {
		return cerr
	}
	msg := notify.Message{Channel: notify.Email, To: email, Lang: lang,
		Template: "email_verification_code", Data: map[string]string{"Code": code}}
	if err == nil {
		msg.Template, msg.Data = "email_already_registered", map[string]string{"Link": h.Render.Path("auth.sign_in")}
	}
	return h.Notifier.Send(c.UserContext(), nil, msg)
}

// resendStep is where a refused send shows its message: the code step for
// "Send new code" (no email in the form), else the email step.
func resendStep(c *fiber.Ctx) (step, field string) {
	if c.FormValue("email") == "" {
		return "code", "code"
	}
	return "email", "email"
}

// signUpVerify is "Verify code".
func (h *Handler) signUpVerify(c *fiber.Ctx) error {
	sess := web.CurrentSession(c)
	st := flowOf(sess, purposeSignUp)
	if st.Email == "" {
		return c.Redirect(h.Render.Path("auth.sign_up"), fiber.StatusSeeOther)
	}
	form, err := h.checkEmailCode(c, purposeSignUp, st.Email)
	if err != nil {
		return err
	}
	if !form.Valid() {
		return h.signUpPage(c, EmailFlow{Step: "code"}, form, fiber.StatusUnprocessableEntity)
	}
	if err := h.Sessions.SetData(c.UserContext(), sess, flowState{Purpose: purposeSignUp, Email: st.Email, Verified: true}); err != nil {
		return err
	}
	return h.signUpPage(c, EmailFlow{Step: "verified"}, form, fiber.StatusOK)
}

// signUpDetails is the names and password step, shown once the email is verified.
func (h *Handler) signUpDetails(c *fiber.Ctx) error {
	if !flowOf(web.CurrentSession(c), purposeSignUp).Verified {
		return c.Redirect(h.Render.Path("auth.sign_up"), fiber.StatusSeeOther)
	}
	return h.signUpPage(c, EmailFlow{Step: "details"}, web.NewForm(), fiber.StatusOK)
}

// signUpCreate is "Create".
func (h *Handler) signUpCreate(c *fiber.Ctx) error {
	st := flowOf(web.CurrentSession(c), purposeSignUp)
	if !st.Verified {
		return c.Redirect(h.Render.Path("auth.sign_up"), fiber.StatusSeeOther)
	}
	form := web.NewForm()
	for _, f := range []string{"given_name", "family_name"} {
		form.Values[f] = strings.TrimSpace(c.FormValue(f))
		if form.Values[f] == "" || len(form.Values[f]) > 100 {
			form.Add(f, "auth.sign_up.error_"+f)
		}
	}
	password, rules := checkNewPassword(c, form)
	if !form.Valid() {
		return h.signUpPage(c, EmailFlow{Step: "details", Password: rules}, form, fiber.StatusUnprocessableEntity)
	}
	hash, err := h.Hasher.Hash(c.UserContext(), password)
	if err != nil {
		return err
	}
	p := &accounts.Person{Email: st.Email, GivenName: form.Values["given_name"], FamilyName: form.Values["family_name"],
		PasswordHash: hash, Role: accounts.RoleCitizen, Status: "active", Locale: web.Lang(c)}
	if err := h.People.Create(c.UserContext(), p); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "account.created"})); err != nil {
		return err
	}
	// Security: the new account starts at AAL1; the phone step comes next.
	if _, err := h.Sessions.Rotate(c, p.ID, web.AAL1); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("auth.confirm"))
}

// checkEmailCode checks the "Verification code" field against email's code
// for purpose, returning the form with the field's error, if any.
func (h *Handler) checkEmailCode(c *fiber.Ctx, purpose, email string) (*web.Form, error) {
	form := web.NewForm()
	form.Values["email"] = email
	err := h.Codes.Check(c.UserContext(), purpose, email, c.FormValue("code"))
	if key := codeErrorKey(err); key != "" {
		form.Add("code", key)
	} else if err != nil {
		return nil, err
	}
	return form, nil
}

// checkNewPassword validates the new password and its confirmation,
// returning the password and how it met each rule, for the page to show
// when the form comes back.
func checkNewPassword(c *fiber.Ctx, form *web.Form) (string, []PasswordRule) {
	password := c.FormValue("password")
	rules, ok := CheckPassword(password)
	if !ok {
		form.Add("password", "auth.sign_up.error_password")
	} else if password != c.FormValue("password_confirm") {
		form.Add("password_confirm", "auth.sign_up.error_confirm")
	}
	return password, rules
}
