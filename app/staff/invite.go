package staff

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/i18n"
	"portal/app/invitations"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/web"
)

// InviteView is the invite form: the record it starts from and the team's
// other records, any of which the same invitation may include.
type InviteView struct {
	Record        *records.Record
	Others        []records.Record
	Relationships []string
	Ticked        map[int64]bool
}

func (h *Handler) invitePage(c *fiber.Ctx, r *records.Record, form *web.Form, ticked map[int64]bool, status int) error {
	all, err := h.Records.ForTeam(c.UserContext(), r.TeamID, "", 500)
	if err != nil {
		return err
	}
	v := InviteView{Record: r, Relationships: access.Relationships, Ticked: ticked}
	for _, o := range all {
		if o.ID != r.ID {
			v.Others = append(v.Others, o)
		}
	}
	return h.page(c, web.Page{Template: "staff/invite", Title: "staff.invite.title", Data: v, Form: form, Status: status})
}

// inviteForm is "Invite someone to hold an account" for a record.
func (h *Handler) inviteForm(c *fiber.Ctx) error {
	r := teamRecord(c)
	return h.invitePage(c, r, web.NewForm(), nil, fiber.StatusOK)
}

// inviteCreate records the invitation and emails its code ("Set up your
// Children's Services Online Account"), which the person reads back.
func (h *Handler) inviteCreate(c *fiber.Ctx) error {
	r := teamRecord(c)
	form := web.NewForm()
	form.Values["email"] = strings.TrimSpace(c.FormValue("email"))
	form.Values["relationship"] = c.FormValue("relationship")
	form.Values["lang"] = c.FormValue("lang", "en")
	if !web.ValidEmail(form.Values["email"]) {
		form.Add("email", "auth.sign_in.error_email")
	}
	if !slices.Contains(access.Relationships, form.Values["relationship"]) {
		form.Add("relationship", "staff.invite.error_relationship")
	}
	if !slices.Contains(i18n.Languages, form.Values["lang"]) {
		form.Add("lang", "staff.invite.error_lang")
	}
	items, ticked, misfit := h.inviteItems(c, r, form.Values["relationship"])
	if form.Valid() && misfit {
		form.Add("relationship", "staff.invite.error_misfit")
	}
	if !form.Valid() {
		return h.invitePage(c, r, form, ticked, fiber.StatusUnprocessableEntity)
	}
	inv, code, err := h.Invitations.Create(c.UserContext(), form.Values["email"], form.Values["lang"], r.TeamID, actor(c).ID, items)
	if err != nil {
		return err
	}
	if err := h.emailInvited(c, inv, notify.Message{Template: "email_invitation_code", Data: map[string]string{"Code": code}}); err != nil {
		return err
	}
	for _, it := range items {
		if err := h.audit(c, "invitation.created", it.RecordID, "invitation:"+itoa(inv.ID)); err != nil {
			return err
		}
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.invite.sent"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID))
}

// emailInvited sends m to inv's address in the invited person's language:
// their own (their profile's) once they have an account, else the one the
// worker chose on the invitation, never the worker's screen language.
func (h *Handler) emailInvited(c *fiber.Ctx, inv *invitations.Invitation, m notify.Message) error {
	m.Channel, m.To, m.Lang = notify.Email, inv.Email, inv.Lang
	p, err := h.People.ByEmail(c.UserContext(), inv.Email)
	switch {
	case err == nil:
		m.Lang = p.Locale
	case !errors.Is(err, accounts.ErrNotFound):
		return err
	}
	return h.Notifier.Send(c.UserContext(), nil, m)
}

// inviteItems is the record of the page and the other records ticked, each
// checked to be the team's (a foreign id is simply not included); misfit
// says the relationship does not fit one of them (access.Fits).
func (h *Handler) inviteItems(c *fiber.Ctx, r *records.Record, relationship string) ([]invitations.Item, map[int64]bool, bool) {
	items := []invitations.Item{{RecordID: r.ID, Relationship: relationship}}
	ticked := map[int64]bool{}
	misfit := !access.Fits(relationship, r.Kind)
	args := c.Request().PostArgs()
	for _, raw := range args.PeekMulti("records") {
		id, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || id == r.ID || ticked[id] {
			continue
		}
		other, err := h.Records.InTeam(c.UserContext(), r.TeamID, id)
		if err != nil {
			continue // Security: not the team's, or gone: never invited to
		}
		ticked[id] = true
		misfit = misfit || !access.Fits(relationship, other.Kind)
		items = append(items, invitations.Item{RecordID: other.ID, Relationship: relationship})
	}
	return items, ticked, misfit
}
