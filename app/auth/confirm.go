package auth

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/web"
)

const purposePhone = "phone"

// Limits on sign-in codes by text: per account and per number, so nobody
// can make the portal send a stream of texts.
var (
	phoneSendsPerPerson = ratelimit.Rule{Name: "phone:person", Max: 5, Window: time.Hour}
	phoneSendsPerNumber = ratelimit.Rule{Name: "phone:number", Max: 5, Window: time.Hour}
	phoneSendsPerDay    = ratelimit.Rule{Name: "phone:person:day", Max: 20, Window: 24 * time.Hour}
)

// confirmState travels in the session during "Confirm your identity".
type confirmState struct {
	EnrolSealed string `json:"enrol_phone,omitempty"` // a number being enrolled, sealed
	EnrolMobile bool   `json:"enrol_mobile,omitempty"`
	Next        string `json:"next,omitempty"` // where sign-in was asked for; relative only
}

// ConfirmView is what the confirm page shows.
type ConfirmView struct {
	Step      string // "enrol", "known" or "code"
	PhoneHint string
	Mobile    bool
}

// aal1Person returns the person of an AAL1 session, or nil.
func (h *Handler) aal1Person(c *fiber.Ctx) (*accounts.Person, error) {
	sess := web.CurrentSession(c)
	if sess == nil || sess.PersonID == nil || sess.AAL < web.AAL1 {
		return nil, nil
	}
	return h.people.Get(c.UserContext(), *sess.PersonID)
}

func (h *Handler) confirmPage(c *fiber.Ctx, v ConfirmView, form *web.Form, status int) error {
	if form == nil {
		form = web.NewForm()
	}
	return h.render.Render(c, web.Page{Template: "auth/confirm", Title: "auth.confirm.title", Data: v, Form: form, Status: status})
}

// confirmIdentity is "Confirm your identity": enrol a number the first
// time, afterwards send a code to the one on the account.
func (h *Handler) confirmIdentity(c *fiber.Ctx) error {
	p, err := h.aal1Person(c)
	if err != nil || p == nil {
		return c.Redirect("/sign-in", fiber.StatusSeeOther)
	}
	if p.PhoneSealed == "" {
		return h.confirmPage(c, ConfirmView{Step: "enrol"}, nil, fiber.StatusOK)
	}
	return h.confirmPage(c, ConfirmView{Step: "known", PhoneHint: p.PhoneHint, Mobile: p.PhoneMobile}, nil, fiber.StatusOK)
}

// confirmSend is "Send Code".
func (h *Handler) confirmSend(c *fiber.Ctx) error {
	p, err := h.aal1Person(c)
	if err != nil || p == nil {
		return c.Redirect("/sign-in", fiber.StatusSeeOther)
	}
	number, mobile, hint := "", p.PhoneMobile, p.PhoneHint
	if p.PhoneSealed == "" {
		form := web.NewForm()
		form.Values["country"], form.Values["phone"] = c.FormValue("country", "GB"), c.FormValue("phone")
		phone, perr := ParsePhone(form.Values["country"], form.Values["phone"])
		if perr == nil && !phone.Mobile {
			perr = ErrPhoneNotTexts
		}
		if perr != nil {
			form.Add("phone", perr.Error())
			return h.confirmPage(c, ConfirmView{Step: "enrol"}, form, fiber.StatusUnprocessableEntity)
		}
		sealed, err := h.sealer.Seal("person.phone", []byte(phone.E164))
		if err != nil {
			return err
		}
		var st confirmState
		_ = json.Unmarshal(web.CurrentSession(c).Data, &st)
		st.EnrolSealed, st.EnrolMobile = sealed, phone.Mobile
		if err := h.sessions.SetData(c.UserContext(), web.CurrentSession(c), st); err != nil {
			return err
		}
		number, mobile, hint = phone.E164, phone.Mobile, MaskPhone(phone.E164)
	} else {
		plain, err := h.sealer.Open("person.phone", p.PhoneSealed)
		if err != nil {
			return err
		}
		number = string(plain)
	}
	if !mobile {
		return web.BadRequest("auth.phone.error_not_mobile")
	}
	for _, l := range []struct {
		rule    ratelimit.Rule
		subject string
	}{{phoneSendsPerPerson, strconv.FormatInt(p.ID, 10)}, {phoneSendsPerDay, strconv.FormatInt(p.ID, 10)}, {phoneSendsPerNumber, number}} {
		ok, _, err := h.limiter.Allow(c.UserContext(), l.rule, l.subject)
		if err != nil {
			return err
		}
		if !ok {
			return web.TooManyRequests()
		}
	}
	code, err := h.codes.Issue(c.UserContext(), purposePhone, strconv.FormatInt(p.ID, 10)+":"+number)
	if err != nil {
		return err
	}
	if err := h.notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.SMS, To: number, Lang: web.Lang(c),
		Template: "sms_code", Data: map[string]string{"Code": code}}); err != nil {
		return err
	}
	return h.confirmPage(c, ConfirmView{Step: "code", PhoneHint: hint, Mobile: mobile}, nil, fiber.StatusOK)
}

// confirmVerify checks the texted code. Enrolling, it saves the number and
// asks for a second code (guide 000, step 12); otherwise the session
// becomes AAL2 and the person is signed in.
func (h *Handler) confirmVerify(c *fiber.Ctx) error {
	p, err := h.aal1Person(c)
	if err != nil || p == nil {
		return c.Redirect("/sign-in", fiber.StatusSeeOther)
	}
	var st confirmState
	_ = json.Unmarshal(web.CurrentSession(c).Data, &st)
	sealed := p.PhoneSealed
	if sealed == "" {
		sealed = st.EnrolSealed
	}
	plain, err := h.sealer.Open("person.phone", sealed)
	if err != nil {
		return c.Redirect("/sign-in/confirm", fiber.StatusSeeOther)
	}
	number := string(plain)
	form := web.NewForm()
	cerr := h.codes.Check(c.UserContext(), purposePhone, strconv.FormatInt(p.ID, 10)+":"+number, c.FormValue("code"))
	switch {
	case cerr == nil:
	case errors.Is(cerr, ErrCodeExhausted):
		form.Add("code", "auth.code.error_exhausted")
	case errors.Is(cerr, ErrCodeWrong), errors.Is(cerr, ErrCodeExpired):
		form.Add("code", "auth.code.error_wrong")
	default:
		return cerr
	}
	if !form.Valid() {
		// Wrong phone codes count towards the sign-in lockout too.
		if _, err := h.lockout.Fail(c.UserContext(), p.Email); err != nil {
			return err
		}
		return h.confirmPage(c, ConfirmView{Step: "code", PhoneHint: MaskPhone(number), Mobile: true}, form, fiber.StatusUnprocessableEntity)
	}
	if p.PhoneSealed == "" {
		return h.enrolPhone(c, p, st, number)
	}
	return h.completeSignIn(c, p, st.Next)
}

func (h *Handler) enrolPhone(c *fiber.Ctx, p *accounts.Person, st confirmState, number string) error {
	if err := h.people.SetPhone(c.UserContext(), p.ID, st.EnrolSealed, MaskPhone(number), st.EnrolMobile); err != nil {
		return err
	}
	if err := h.audit.Write(c.UserContext(), nil, audit.Event{ActorID: &p.ID, Action: "phone.enrolled",
		IP: web.ClientIP(c, h.trustFly), RequestID: web.RequestID(c)}); err != nil {
		return err
	}
	if err := h.sessions.SetData(c.UserContext(), web.CurrentSession(c), confirmState{Next: st.Next}); err != nil {
		return err
	}
	if err := h.sessions.AddFlash(c, "success", "auth.confirm.enrolled"); err != nil {
		return err
	}
	return web.Redirect(c, "/sign-in/confirm")
}

func (h *Handler) completeSignIn(c *fiber.Ctx, p *accounts.Person, next string) error {
	if _, err := h.sessions.Rotate(c, p.ID, web.AAL2); err != nil {
		return err
	}
	if err := h.people.SignedIn(c.UserContext(), p.ID, h.clock.Now()); err != nil {
		return err
	}
	if err := h.lockout.Succeed(c.UserContext(), p.Email); err != nil {
		return err
	}
	if err := h.audit.Write(c.UserContext(), nil, audit.Event{ActorID: &p.ID, Action: "session.signed_in",
		IP: web.ClientIP(c, h.trustFly), RequestID: web.RequestID(c)}); err != nil {
		return err
	}
	home := "/account"
	if p.IsStaff() {
		home = "/staff"
	}
	return web.Redirect(c, web.SafeRedirect(next, home))
}
