package auth

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/web"
)

// Limits on the phone factor, per account, per number and per client
// address, so nobody can make the portal a source of texts or calls (SMS
// pumping, toll fraud). "At most 3 calls an hour" is the issue's number.
var (
	phoneSendsPerPerson = ratelimit.Rule{Name: "phone:person", Max: 5, Window: time.Hour}
	phoneSendsPerNumber = ratelimit.Rule{Name: "phone:number", Max: 5, Window: time.Hour}
	phoneSendsPerIP     = ratelimit.Rule{Name: "phone:ip", Max: 20, Window: time.Hour}
	phoneSendsPerDay    = ratelimit.Rule{Name: "phone:person:day", Max: 20, Window: 24 * time.Hour}
	callsPerPerson      = ratelimit.Rule{Name: "call:person", Max: 3, Window: time.Hour}
	callsPerNumber      = ratelimit.Rule{Name: "call:number", Max: 3, Window: time.Hour}
	callsPerIP          = ratelimit.Rule{Name: "call:ip", Max: 10, Window: time.Hour}
	callsPerDay         = ratelimit.Rule{Name: "call:person:day", Max: 10, Window: 24 * time.Hour}
	// Security: a number typed but not yet proven is counted apart from a
	// proven one, so typing someone else's number never spends the limits
	// that protect its owner's sign-in; and one account may text or call
	// numbers it has not proven only so often.
	typedSendsPerNumber = ratelimit.Rule{Name: "phone:typed", Max: 5, Window: time.Hour}
	typedCallsPerNumber = ratelimit.Rule{Name: "call:typed", Max: 3, Window: time.Hour}
	typedPerPerson      = ratelimit.Rule{Name: "typed:person:day", Max: 6, Window: 24 * time.Hour}
)

// confirmState travels in the session while a phone check is under way.
type confirmState struct {
	EnrolSealed  string `json:"enrol_phone,omitempty"` // a number being enrolled, sealed
	EnrolMobile  bool   `json:"enrol_mobile,omitempty"`
	EmailChecked bool   `json:"enrol_email_checked,omitempty"` // re-enrolment: the emailed code passed
	CallID       int64  `json:"call_id,omitempty"`             // the "Call Me" call being waited for
	TextJob      int64  `json:"text_job,omitempty"`            // the queued text of the last "Send Code" (notify.Notifier.Failing)
	CallJob      int64  `json:"call_job,omitempty"`            // the queued call of the last "Call Me", likewise
	Next         string `json:"next,omitempty"`                // where sign-in was asked for; relative only
}

func confirmStateOf(sess *web.Session) confirmState {
	var st confirmState
	if sess != nil {
		_ = json.Unmarshal(sess.Data, &st)
	}
	return st
}

// ConfirmView is what a "Confirm your identity" page shows.
type ConfirmView struct {
	Base      string // the check's route prefix: forms post under it
	Step      string // enrol, known, code, call, email, email_code or closed
	PhoneHint string
	Mobile    bool   // texts can go to the number: "Send Code" is offered
	Prefix    string // message ids of an emailed-code step
	Intro     string // message id of the check's lead paragraph, if any
	Countries []Country
	// The other ways the person has (known step): a code from their
	// authenticator app (posted to Base/app), a recovery code (Base/recovery,
	// at sign-in only).
	App, Recovery bool
	Passkey       bool // "Use a passkey" (Base/passkey)
	PasskeyOnly   bool // STAFF_PASSKEYS: a member of staff with a passkey uses it, nothing else
	// The code step's text (views/auth/_text_status.html): TextFailed, an
	// attempt to send it failed, so Call Me and the other ways are offered;
	// TextChecked, the person asked and it has not failed.
	TextFailed, TextChecked bool
	// The call step's (views/auth/_call_status.html): an attempt to make
	// the call failed, so a text (to a mobile) and the other ways are
	// offered.
	CallFailed bool
}

// phoneCheck is one place where a person proves they hold their phone:
// signing in (AAL1 to AAL2, adding a number the first time) or confirming
// a change while signed in (a new email address). Both share the pages,
// codes, calls and limits; they differ in who may ask, whether a number may
// be added, and what passing leads to.
type phoneCheck struct {
	h       *Handler
	base    string // e.g. "/sign-in/confirm"
	purpose string // binds its codes and calls: a code for one check opens no other
	title   string
	intro   string
	enrol   bool // a person without a number may add one here
	voice   string
	person  func(c *fiber.Ctx) (*accounts.Person, error) // nil person: start again
	restart string                                       // the route a person with no check under way is sent to
	// recovery: a recovery code may stand in for the check (sign-in only:
	// a change to how one signs in needs a way one still has).
	recovery bool
	passed   func(c *fiber.Ctx, p *accounts.Person, st confirmState, via string) error
	// enrolled keeps a number just proven; nil is enrolPhone (sign-in: the
	// number is saved and a second check signs in).
	enrolled func(c *fiber.Ctx, p *accounts.Person, st confirmState, number string) error
}

// The ways a check can pass (passed's via).
const (
	viaText     = audit.MethodText // a code texted to the phone
	viaCall     = audit.MethodCall // "Call Me", answered with #
	viaApp      = audit.MethodApp
	viaRecovery = audit.MethodRecovery
	viaPasskey  = audit.MethodPasskey
)

func (pc *phoneCheck) page(c *fiber.Ctx, v ConfirmView, form *web.Form, status int) error {
	if form == nil {
		form = web.NewForm()
	}
	if v.Base == "" {
		v.Base = pc.base
	}
	v.Intro, v.Countries = pc.intro, pc.h.countries()
	return pc.h.Render.Render(c, web.Page{Template: "auth/confirm", Title: pc.title, Data: v, Form: form, Status: status})
}

// load returns the person doing the check, or nil after redirecting.
func (pc *phoneCheck) load(c *fiber.Ctx) (*accounts.Person, error) {
	p, err := pc.person(c)
	if err != nil || p != nil {
		return p, err
	}
	return nil, web.Redirect(c, pc.h.Render.Path(pc.restart))
}

// show is the check's first page: the known number's choices, or adding one.
func (pc *phoneCheck) show(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	if p.PhoneSealed != "" {
		return pc.known(c, p, nil, fiber.StatusOK)
	}
	return pc.page(c, ConfirmView{Step: pc.enrolStep(p, confirmStateOf(web.CurrentSession(c)))}, nil, fiber.StatusOK)
}

// passkeyOnly reports whether this check must be passed with a passkey
// (at sign-in, for staff, where the council asks it): nothing is texted,
// called or taken from an app or a recovery list then.
func (pc *phoneCheck) passkeyOnly(c *fiber.Ctx, p *accounts.Person) bool {
	return pc.recovery && pc.h.passkeyOnly(c, p)
}

// known is the first page for a person with a number: its choices, and
// the other ways they have.
func (pc *phoneCheck) known(c *fiber.Ctx, p *accounts.Person, form *web.Form, status int) error {
	m, err := pc.h.Factors.MethodsOf(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	return pc.page(c, ConfirmView{Step: "known", PhoneHint: p.PhoneHint, Mobile: p.PhoneMobile,
		App: m.App != nil, Recovery: pc.recovery && m.RecoveryLeft > 0, Passkey: len(m.Passkeys) > 0,
		PasskeyOnly: pc.recovery && pc.h.StaffPasskeys && p.IsStaff() && len(m.Passkeys) > 0}, form, status)
}

// enrolStep says what a person without a number sees. After staff removed
// a number, a new one may be added only within ReenrolWindow and only after
// a code sent to the account's email address.
func (pc *phoneCheck) enrolStep(p *accounts.Person, st confirmState) string {
	switch {
	case !pc.enrol:
		return "nophone"
	case p.PhoneRemovedAt == nil:
		return "enrol"
	case !pc.h.Clock.Now().Before(p.PhoneRemovedAt.Add(ReenrolWindow)):
		// Security: the window is checked first, whatever the session says:
		// an emailed code passed in time does not hold the window open.
		return "closed"
	case st.EmailChecked:
		return "enrol"
	default:
		return "email"
	}
}

// typedNumber reports whether the request comes from the form that adds a
// number; "Send new code", "Call me instead" and "Call me again" say
// resend=1 and mean the number already typed.
func typedNumber(c *fiber.Ctx) bool { return c.FormValue("resend") != "1" }

// number is the number this request is about: the one typed while adding a
// number (sealed into the session), else the one on the account.
func (pc *phoneCheck) number(c *fiber.Ctx, p *accounts.Person, typed bool) (string, bool, *web.Form, error) {
	if p.PhoneSealed != "" {
		plain, err := pc.h.Sealer.Open("person.phone", p.PhoneSealed)
		return string(plain), p.PhoneMobile, nil, err
	}
	st := confirmStateOf(web.CurrentSession(c))
	if pc.enrolStep(p, st) != "enrol" {
		return "", false, nil, errStartAgain
	}
	if !typed { // "Send new code" while adding: the number already typed
		plain, err := pc.h.Sealer.Open("person.phone", st.EnrolSealed)
		if err != nil {
			return "", false, nil, errStartAgain
		}
		return string(plain), st.EnrolMobile, nil, nil
	}
	form := web.NewForm()
	form.Values["country"], form.Values["phone"] = c.FormValue("country", "GB"), c.FormValue("phone")
	phone, perr := ParsePhone(pc.h.Regions, form.Values["country"], form.Values["phone"])
	if perr != nil {
		form.Add("phone", perr.Error())
		return "", false, form, nil
	}
	sealed, err := pc.h.Sealer.Seal("person.phone", []byte(phone.E164))
	if err != nil {
		return "", false, nil, err
	}
	st.EnrolSealed, st.EnrolMobile = sealed, phone.Mobile
	if err := pc.h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
		return "", false, nil, err
	}
	return phone.E164, phone.Mobile, nil, nil
}

// send is "Send Code" (and "Send new code").
func (pc *phoneCheck) send(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	if pc.passkeyOnly(c, p) {
		return web.Forbidden("auth.passkey.staff_only")
	}
	number, mobile, form, err := pc.number(c, p, typedNumber(c))
	if err != nil || form != nil {
		return pc.refuse(c, form, err)
	}
	if !mobile {
		form = web.NewForm()
		form.Values["phone"], form.Values["country"] = c.FormValue("phone"), c.FormValue("country")
		form.Add(pc.focus(p), "auth.phone.error_not_mobile")
		return pc.page(c, ConfirmView{Step: pc.stepOf(p)}, form, fiber.StatusUnprocessableEntity)
	}
	who := personKey(p)
	until, err := pc.h.overLimit(c, append(numberLimits(p, number, phoneSendsPerNumber, typedSendsPerNumber),
		limit{phoneSendsPerPerson, who}, limit{phoneSendsPerDay, who}, limit{phoneSendsPerIP, web.IP(c)})...)
	if err != nil || !until.IsZero() {
		return pc.limited(c, p, until, err)
	}
	code, err := pc.h.Codes.Issue(c.UserContext(), pc.purpose, who+":"+number)
	if err != nil {
		return err
	}
	job, err := pc.h.Notifier.SendTracked(c.UserContext(), notify.Message{Channel: notify.SMS, To: number, Lang: web.Lang(c),
		Template: "sms_code", Data: map[string]string{"Code": code}})
	if err != nil {
		return err
	}
	// The page asks after this text (textStatus): a provider that is down
	// must not leave the person waiting for a code that is not coming.
	st := confirmStateOf(web.CurrentSession(c))
	st.TextJob = job
	if err := pc.h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
		return err
	}
	return pc.page(c, ConfirmView{Step: "code", PhoneHint: MaskPhone(number), Mobile: true}, nil, fiber.StatusOK)
}

// textStatus is the code page's question "has my text gone?", asked every
// few seconds (passive) and by its button without JavaScript. The text is
// queued, so a provider that is down fails it after the page is shown:
// once an attempt has failed, the page says so and offers Call Me and the
// person's other ways (the text may still arrive on a retry, with the same
// code). A poll with nothing to say gets 204.
func (pc *phoneCheck) textStatus(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	failing := false
	if job := confirmStateOf(web.CurrentSession(c)).TextJob; job != 0 {
		if failing, err = pc.h.Notifier.Failing(c.UserContext(), job); err != nil {
			return err
		}
	}
	if !failing && c.Get("HX-Request") == "true" {
		return c.SendStatus(fiber.StatusNoContent)
	}
	number, _, _, err := pc.number(c, p, false)
	if err != nil {
		return pc.refuse(c, nil, err)
	}
	v := ConfirmView{Base: pc.base, Step: "code", PhoneHint: MaskPhone(number), Mobile: true, TextFailed: failing, TextChecked: !failing}
	if failing {
		if err := pc.otherWays(c, p, &v); err != nil {
			return err
		}
	}
	v.Intro, v.Countries = pc.intro, pc.h.countries()
	return pc.h.Render.Render(c, web.Page{Template: "auth/confirm", Fragment: "auth/_text_status", Title: pc.title,
		Data: v, Form: web.NewForm(), Status: fiber.StatusOK})
}

// verify checks the texted code.
func (pc *phoneCheck) verify(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	number, _, _, err := pc.number(c, p, false)
	if err != nil {
		return pc.refuse(c, nil, err)
	}
	err = pc.h.Codes.Check(c.UserContext(), pc.purpose, personKey(p)+":"+number, c.FormValue("code"))
	if key := codeErrorKey(err); key != "" {
		if locked, err := pc.wrongCode(c, p, viaText); locked || err != nil {
			return err
		}
		form := web.NewForm()
		form.Add("code", key)
		return pc.page(c, ConfirmView{Step: "code", PhoneHint: MaskPhone(number), Mobile: true}, form, fiber.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	return pc.pass(c, p, number, viaText)
}

// call is "Call Me": an automated call that counts when the person presses #.
func (pc *phoneCheck) call(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	if pc.passkeyOnly(c, p) {
		return web.Forbidden("auth.passkey.staff_only")
	}
	number, _, form, err := pc.number(c, p, typedNumber(c))
	if err != nil || form != nil {
		return pc.refuse(c, form, err)
	}
	who := personKey(p)
	until, err := pc.h.overLimit(c, append(numberLimits(p, number, callsPerNumber, typedCallsPerNumber),
		limit{callsPerPerson, who}, limit{callsPerDay, who}, limit{callsPerIP, web.IP(c)})...)
	if err != nil || !until.IsZero() {
		return pc.limited(c, p, until, err)
	}
	call, err := pc.h.Calls.Start(c.UserContext(), p.ID, pc.purpose, number)
	if err != nil {
		return err
	}
	job, err := pc.h.Notifier.SendTracked(c.UserContext(), notify.Message{Channel: notify.Voice, To: number, Lang: web.Lang(c),
		Template: pc.voice, AnswerToken: call.Token})
	if err != nil {
		return err
	}
	// The page asks after this call (callContinue), as after a text.
	st := confirmStateOf(web.CurrentSession(c))
	st.CallID, st.CallJob = call.ID, job
	if err := pc.h.Sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
		return err
	}
	return pc.page(c, ConfirmView{Step: "call", PhoneHint: MaskPhone(number)}, nil, fiber.StatusOK)
}

// callContinue is the waiting page's "Continue", and its poll: the page
// asks every few seconds, marked passive, so waiting is not activity. An
// unanswered call leaves the poll with nothing to do (204); the button
// without JavaScript gets the page again with a message. A call that
// could not be made (its provider down) is said, to both, with a text
// (to a mobile) and the person's other ways offered (callFailed).
func (pc *phoneCheck) callContinue(c *fiber.Ctx) error {
	p, err := pc.load(c)
	if p == nil {
		return err
	}
	polling := c.Get("HX-Request") == "true"
	number, mobile, _, err := pc.number(c, p, false)
	if err == nil {
		err = pc.h.Calls.Use(c.UserContext(), confirmStateOf(web.CurrentSession(c)).CallID, p.ID, pc.purpose, number)
	}
	if errors.Is(err, ErrCallNotAnswered) {
		if failing, ferr := pc.h.Notifier.Failing(c.UserContext(), confirmStateOf(web.CurrentSession(c)).CallJob); ferr != nil {
			return ferr
		} else if failing && !(polling && c.FormValue("shown") == "failed") {
			return pc.callFailed(c, p, number, mobile)
		}
	}
	switch {
	case errors.Is(err, ErrCallNotAnswered) && polling:
		return c.SendStatus(fiber.StatusNoContent)
	case errors.Is(err, ErrCallNotAnswered):
		form := web.NewForm()
		form.Add("continue", "auth.call.error_not_answered")
		return pc.page(c, ConfirmView{Step: "call", PhoneHint: MaskPhone(number)}, form, fiber.StatusUnprocessableEntity)
	case errors.Is(err, ErrCallOver):
		if err := pc.h.Sessions.AddFlash(c, "important", "auth.call.over"); err != nil {
			return err
		}
		return web.Redirect(c, pc.base)
	case err != nil:
		return pc.refuse(c, nil, err)
	}
	return pc.pass(c, p, number, viaCall)
}

// callFailed is the call step once an attempt to call failed: the
// fragment for the poll, the page for the button.
func (pc *phoneCheck) callFailed(c *fiber.Ctx, p *accounts.Person, number string, mobile bool) error {
	v := ConfirmView{Base: pc.base, Step: "call", PhoneHint: MaskPhone(number), CallFailed: true}
	if err := pc.otherWays(c, p, &v); err != nil {
		return err
	}
	v.Mobile = mobile
	v.Intro, v.Countries = pc.intro, pc.h.countries()
	return pc.h.Render.Render(c, web.Page{Template: "auth/confirm", Fragment: "auth/_call_status", Title: pc.title,
		Data: v, Form: web.NewForm(), Status: fiber.StatusOK})
}

// otherWays fills in the ways besides the phone that p has, offered when
// a text or a call could not be made.
func (pc *phoneCheck) otherWays(c *fiber.Ctx, p *accounts.Person, v *ConfirmView) error {
	if p.PhoneSealed == "" {
		return nil
	}
	m, err := pc.h.Factors.MethodsOf(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	v.App, v.Recovery, v.Passkey = m.App != nil, pc.recovery && m.RecoveryLeft > 0, len(m.Passkeys) > 0
	return nil
}

// pass ends a passed check: a number being added is saved and a second
// check signs in (guide 000, step 12); otherwise the check's own outcome.
func (pc *phoneCheck) pass(c *fiber.Ctx, p *accounts.Person, number, via string) error {
	st := confirmStateOf(web.CurrentSession(c))
	if p.PhoneSealed == "" && pc.enrolled != nil {
		return pc.enrolled(c, p, st, number)
	}
	if p.PhoneSealed == "" {
		return pc.h.enrolPhone(c, p, st, number, pc.base)
	}
	return pc.passed(c, p, st, via)
}

// phoneCodeFailed counts a wrong phone code towards the sign-in lockout.
// The tenth locks the email: the holder is told, this session ends (so
// "Call Me" cannot carry on either) and the sign-in page says until when;
// locked is then true and the response is written.
func (h *Handler) phoneCodeFailed(c *fiber.Ctx, p *accounts.Person) (locked bool, err error) {
	if locked, err = h.Lockout.Fail(c.UserContext(), p.Email); !locked || err != nil {
		return false, err
	}
	if err := h.tellLocked(c, p); err != nil {
		return true, err
	}
	if err := h.Sessions.Destroy(c); err != nil {
		return true, err
	}
	form := web.NewForm()
	form.Values["email"] = p.Email
	return true, h.signInLocked(c, form, h.Clock.Now().Add(LockoutDuration))
}

// errStartAgain says the check's state is gone or out of order (a number
// never typed, a step skipped): the person starts the check again.
var errStartAgain = errors.New("auth: start the phone check again")

// refuse answers a request that cannot go on: a form in error, a check to
// start again, or an error for the error handler.
func (pc *phoneCheck) refuse(c *fiber.Ctx, form *web.Form, err error) error {
	switch {
	case form != nil:
		return pc.page(c, ConfirmView{Step: "enrol"}, form, fiber.StatusUnprocessableEntity)
	case errors.Is(err, errStartAgain):
		return web.Redirect(c, pc.base)
	}
	return err
}

// limited shows the page again, saying when more codes or calls can be
// asked for (429: the person did nothing wrong with the form).
func (pc *phoneCheck) limited(c *fiber.Ctx, p *accounts.Person, until time.Time, err error) error {
	if err != nil {
		return err
	}
	form := web.NewForm()
	form.Values["phone"], form.Values["country"] = c.FormValue("phone"), c.FormValue("country")
	return pc.page(c, ConfirmView{Step: pc.stepOf(p), PhoneHint: p.PhoneHint, Mobile: p.PhoneMobile},
		limitedForm(form, pc.focus(p), until), fiber.StatusTooManyRequests)
}

func (pc *phoneCheck) stepOf(p *accounts.Person) string {
	if p.PhoneSealed != "" {
		return "known"
	}
	return "enrol"
}

// focus is the field an error on the first page links to.
func (pc *phoneCheck) focus(p *accounts.Person) string {
	if p.PhoneSealed != "" {
		return "call"
	}
	return "phone"
}

// codeErrorKey is the message for a failed code check, "" when it passed
// or failed unexpectedly. Wrong, expired and used codes get one message:
// guessing learns nothing.
func codeErrorKey(err error) string {
	switch {
	case errors.Is(err, ErrCodeExhausted):
		return "auth.code.error_exhausted"
	case errors.Is(err, ErrCodeWrong), errors.Is(err, ErrCodeExpired):
		return "auth.code.error_wrong"
	}
	return ""
}

// limitedForm says on field of form when more codes (or calls) can be
// asked for; the page is shown again with it, status 429.
func limitedForm(form *web.Form, field string, until time.Time) *web.Form {
	form.Values["locked_until"] = until.In(clock.London).Format("15:04")
	form.Add(field, "auth.code.error_limit")
	return form
}

// limit is one rule counted for one subject.
type limit struct {
	rule    ratelimit.Rule
	subject string
}

// numberLimits are the limits on number: proven's when it is p's own
// proven number, else typed's (kept apart, so a stranger who types it
// spends nothing of its owner's) and the cap on p's texts and calls to
// numbers not proven.
func numberLimits(p *accounts.Person, number string, proven, typed ratelimit.Rule) []limit {
	if p.PhoneSealed != "" {
		return []limit{{proven, number}}
	}
	return []limit{{typed, number}, {typedPerPerson, personKey(p)}}
}

// overLimit counts a hit on every limit and returns, when any is exceeded,
// the latest time at which all of them allow again (zero when within all).
func (h *Handler) overLimit(c *fiber.Ctx, limits ...limit) (time.Time, error) {
	var until time.Time
	for _, l := range limits {
		ok, end, err := h.Limiter.Allow(c.UserContext(), l.rule, l.subject)
		if err != nil {
			return time.Time{}, err
		}
		if !ok && end.After(until) {
			until = end
		}
	}
	return until, nil
}
