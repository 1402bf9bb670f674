package staff

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/web"
)

// errSelf refuses an action of an admin on their own account. The page
// hides those buttons; this answers a request made without them. Removing
// one's own phone or deactivating oneself would lock the admin out, and a
// second admin should see to it.
var errSelf = &web.Error{Status: fiber.StatusUnprocessableEntity, Key: "staff.admin.person.error_self"}

// adminPhoneRemove is "Remove phone number": the holder adds a new one at
// their next sign-in, within auth.ReenrolWindow, after an emailed code.
func (h *Handler) adminPhoneRemove(c *fiber.Ctx) error {
	p, err := h.personOf(c)
	if err != nil {
		return err
	}
	if p.ID == actor(c).ID {
		return errSelf
	}
	if err := h.People.RemovePhone(c.UserContext(), p.ID, h.Clock.Now()); err != nil {
		return err
	}
	// Security: sessions signed in with the old number end with it.
	if err := h.Sessions.DestroyAll(c.UserContext(), p.ID); err != nil {
		return err
	}
	if err := h.audit(c, "phone.removed", 0, personTarget(p)); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.admin.person.phone_removed"); err != nil {
		return err
	}
	return redirectTo(c, "staff.admin.person", fiber.Map{"id": p.ID})
}

// adminStatusSet is "Deactivate account" or "Reactivate account". Grants
// need no change: the access query wants an active account, so all of a
// deactivated person's access stops at once, and comes back with them.
func (h *Handler) adminStatusSet(status string) fiber.Handler {
	action, flash := "account.reactivated", "staff.admin.person.reactivated"
	if status == accounts.StatusDeactivated {
		action, flash = "account.deactivated", "staff.admin.person.deactivated"
	}
	return func(c *fiber.Ctx) error {
		p, err := h.personOf(c)
		if err != nil {
			return err
		}
		if p.ID == actor(c).ID {
			return errSelf
		}
		if err := h.People.SetStatus(c.UserContext(), p.ID, status, h.Clock.Now()); err != nil {
			return err
		}
		// Security: sessions end after the status changes, so no sign-in
		// can begin in between (a reactivated account has none to end).
		if err := h.Sessions.DestroyAll(c.UserContext(), p.ID); err != nil {
			return err
		}
		if err := h.audit(c, action, 0, personTarget(p)); err != nil {
			return err
		}
		if err := h.Sessions.AddFlash(c, "success", flash); err != nil {
			return err
		}
		return redirectTo(c, "staff.admin.person", fiber.Map{"id": p.ID})
	}
}
