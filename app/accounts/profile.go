package accounts

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/web"
)

// ProfileView is what "Edit profile" shows beside its form: the email
// address and the phone number masked (its holder cannot change it: staff
// remove it). Security: not the Person, which carries the password hash.
type ProfileView struct {
	Email, PhoneHint string
}

// profileFields are the form's fields, in the page's order.
var profileFields = []string{"given_name", "family_name", "line1", "line2", "town", "postcode", "language", "updates"}

// postcodeRE is a UK postcode, once upper-cased and without spaces.
var postcodeRE = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$`)

// profileShow is "Edit profile": names, address, language and the updates
// choice in one form; the email address with a way to change it; the
// phone number masked; "Log out of all devices".
func (h *Handler) profileShow(c *fiber.Ctx) error {
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	addr, err := OpenAddress(h.Sealer, p)
	if err != nil {
		return err
	}
	form := web.NewForm()
	for k, v := range map[string]string{"given_name": p.GivenName, "family_name": p.FamilyName, "line1": addr.Line1,
		"line2": addr.Line2, "town": addr.Town, "postcode": addr.Postcode, "language": p.Locale} {
		form.Values[k] = v
	}
	if p.UpdatesOptIn {
		form.Values["updates"] = "yes"
	}
	return h.profilePage(c, p, form, fiber.StatusOK)
}

func (h *Handler) profilePage(c *fiber.Ctx, p *Person, form *web.Form, status int) error {
	return h.Render.Render(c, web.Page{Template: "account/profile", Title: "account.profile.title",
		Data: ProfileView{Email: p.Email, PhoneHint: p.PhoneHint}, Form: form, Status: status})
}

// profileSave is "Save changes".
func (h *Handler) profileSave(c *fiber.Ctx) error {
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	form := web.NewForm()
	for _, f := range profileFields {
		form.Values[f] = strings.TrimSpace(c.FormValue(f))
	}
	pr := bindProfile(form)
	if !form.Valid() {
		return h.profilePage(c, p, form, fiber.StatusUnprocessableEntity)
	}
	if err := h.People.UpdateProfile(c.UserContext(), h.Sealer, p.ID, pr, h.Clock.Now()); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: "account.profile_updated"})); err != nil {
		return err
	}
	web.SetLanguage(c, pr.Locale, h.Secure)
	if err := h.Sessions.AddFlash(c, "success", "account.profile.saved"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("account.profile"))
}

// bindProfile checks the form, adding its errors, and returns the profile.
func bindProfile(form *web.Form) Profile {
	for _, f := range []string{"given_name", "family_name"} {
		if form.Values[f] == "" {
			form.Add(f, "auth.sign_up.error_"+f)
		}
	}
	for _, f := range []string{"given_name", "family_name", "line1", "line2", "town"} {
		if utf8.RuneCountInString(form.Values[f]) > 100 {
			form.Add(f, "account.profile.error_too_long")
		}
	}
	if pc := strings.ToUpper(strings.ReplaceAll(form.Values["postcode"], " ", "")); pc != "" {
		if !postcodeRE.MatchString(pc) {
			form.Add("postcode", "account.profile.error_postcode")
		} else {
			form.Values["postcode"] = pc[:len(pc)-3] + " " + pc[len(pc)-3:] // "NR1 2DH"
		}
	}
	if l := form.Values["language"]; l != "en" && l != "cy" {
		form.Add("language", "account.profile.error_language")
	}
	return Profile{GivenName: form.Values["given_name"], FamilyName: form.Values["family_name"],
		Address: Address{Line1: form.Values["line1"], Line2: form.Values["line2"], Town: form.Values["town"],
			Postcode: form.Values["postcode"]},
		Locale: form.Values["language"], UpdatesOptIn: form.Values["updates"] == "yes"}
}

// signOutEverywhere ends every session of the person, this one included.
func (h *Handler) signOutEverywhere(c *fiber.Ctx) error {
	id := *web.CurrentSession(c).PersonID
	if err := h.Sessions.DestroyAll(c.UserContext(), id); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &id, Action: "session.signed_out_everywhere"})); err != nil {
		return err
	}
	if err := h.Sessions.Destroy(c); err != nil {
		return err
	}
	c.Set("Clear-Site-Data", `"cache", "storage"`)
	return web.Redirect(c, h.Render.Path("session.signed_out"))
}
