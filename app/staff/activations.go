package staff

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/clock"
	"portal/app/invitations"
	"portal/app/notify"
	"portal/app/web"
)

// activationsList is the team's activation queue: invitations the person
// has accepted at account setup, waiting for a worker's checks.
func (h *Handler) activationsList(c *fiber.Ctx) error {
	list, err := h.Invitations.AwaitingActivation(c.UserContext(), *actor(c).TeamID)
	if err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/activations", Title: "staff.activations.title", Data: list})
}

// invitationActivate activates an accepted invitation: in one transaction
// it becomes active and the person gets a grant for each record they
// ticked; then they are emailed "New Children's Services Online activation".
func (h *Handler) invitationActivate(c *fiber.Ctx) error {
	id, err := c.ParamsInt("invitation")
	if err != nil {
		return web.NotFound()
	}
	var inv *invitations.Invitation
	err = h.DB.WithContext(c.UserContext()).Transaction(func(tx *gorm.DB) error {
		var err error
		if inv, err = h.Invitations.Activate(c.UserContext(), tx, *actor(c).TeamID, int64(id)); err != nil {
			return err
		}
		if inv.PersonID == nil { // the account was deleted meanwhile
			return invitations.ErrNotFound
		}
		var grants []access.Grant
		for _, it := range inv.Records {
			if it.Accepted {
				grants = append(grants, access.Grant{PersonID: *inv.PersonID, RecordID: it.RecordID,
					Relationship: it.Relationship, InvitationID: &inv.ID, GrantedBy: &actor(c).ID})
			}
		}
		return h.Access.Give(c.UserContext(), tx, grants)
	})
	if err != nil {
		return err
	}
	if err := h.auditAll(c, inv, "invitation.activated"); err != nil {
		return err
	}
	if err := h.emailInvited(c, inv, notify.Message{Template: "email_activation", Data: map[string]string{"Link": h.Render.Path("auth.sign_in")}}); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.activations.done"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.activations"))
}

// placementEnd records the day a placement ended: the holder keeps access
// until 23:59:59 on the 7th day after it (guide 002), then it ends by itself.
func (h *Handler) placementEnd(c *fiber.Ctx) error {
	r := teamRecord(c)
	grant, err := c.ParamsInt("grant")
	if err != nil {
		return web.NotFound()
	}
	form := web.NewForm()
	form.Values["ended_on"] = c.FormValue("ended_on")
	day, perr := time.ParseInLocation(time.DateOnly, form.Values["ended_on"], clock.London)
	today := clock.Today(h.Clock).Format(time.DateOnly)
	if perr != nil || form.Values["ended_on"] > today { // ISO dates compare as strings
		form.Values["ended_on"] = ""
		form.Add("ended_on-"+itoa(int64(grant)), "staff.record.error_ended_on")
		return h.recordPage(c, r, form, 0, fiber.StatusUnprocessableEntity)
	}
	// Security: only a foster carer's grant has a placement to end.
	if _, err := h.Access.EndPlacement(c.UserContext(), r.ID, int64(grant), day); errors.Is(err, access.ErrNotFound) {
		return web.NotFound()
	} else if err != nil {
		return err
	}
	if err := h.audit(c, "grant.placement_ended", r.ID, "grant:"+itoa(int64(grant))); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.record.placement_saved"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID))
}
