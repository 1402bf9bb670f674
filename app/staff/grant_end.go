package staff

import (
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/web"
)

// ReasonMax bounds the reason a worker gives for ending someone's access.
const ReasonMax = 500

// GrantEndView is "End access": whose access to which record, and why.
type GrantEndView struct {
	Record *records.Record
	Holder access.Holder
}

// grantHolder loads the URL's grant of the team's record, in force.
func (h *Handler) grantHolder(c *fiber.Ctx) (*records.Record, access.Holder, error) {
	r := teamRecord(c)
	grant, err := c.ParamsInt("grant")
	if err != nil {
		return nil, access.Holder{}, web.NotFound()
	}
	holders, err := h.Access.HoldersOf(c.UserContext(), r.ID)
	if err != nil {
		return nil, access.Holder{}, err
	}
	i := slices.IndexFunc(holders, func(x access.Holder) bool { return x.GrantID == int64(grant) && x.RevokedAt == nil })
	if i < 0 {
		return nil, access.Holder{}, web.NotFound()
	}
	return r, holders[i], nil
}

// grantEndShow is the confirmation step of "End access".
func (h *Handler) grantEndShow(c *fiber.Ctx) error {
	r, holder, err := h.grantHolder(c)
	if err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/grant_end", Title: "staff.grant_end.title",
		Data: GrantEndView{Record: r, Holder: holder}, Form: web.NewForm()})
}

// grantEnd ends one holder's access to one record now, with the worker's
// reason (kept for staff and in the trail), and tells the holder by email,
// naming nobody. Their open pages' streams end at once (access.Revoke).
func (h *Handler) grantEnd(c *fiber.Ctx) error {
	r, holder, err := h.grantHolder(c)
	if err != nil {
		return err
	}
	form := web.NewForm()
	form.Values["reason"] = strings.TrimSpace(c.FormValue("reason"))
	switch n := utf8.RuneCountInString(form.Values["reason"]); {
	case n == 0:
		form.Add("reason", "staff.grant_end.error_reason")
	case n > ReasonMax:
		form.AddArgs("reason", "staff.grant_end.error_reason_long", "Max", ReasonMax)
	}
	if !form.Valid() {
		return h.page(c, web.Page{Template: "staff/grant_end", Title: "staff.grant_end.title",
			Data: GrantEndView{Record: r, Holder: holder}, Form: form, Status: fiber.StatusUnprocessableEntity})
	}
	if _, err := h.Access.Revoke(c.UserContext(), r.ID, holder.GrantID, actor(c).ID, form.Values["reason"]); errors.Is(err, access.ErrNotFound) {
		return web.NotFound() // ended meanwhile
	} else if err != nil {
		return err
	}
	if err := h.audit(c, "grant.ended", r.ID, "grant:"+itoa(holder.GrantID)); err != nil {
		return err
	}
	p, err := h.People.Get(c.UserContext(), holder.PersonID)
	if err != nil {
		return err
	}
	// Security: nothing personal; the link leads to sign-in.
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_access_ended", Data: map[string]string{"Link": h.Render.Path("auth.sign_in")}}); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.grant_end.done"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID))
}
