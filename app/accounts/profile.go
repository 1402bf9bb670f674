package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/web"
)

// profileShow is "Edit profile": the person's details, the phone number
// masked, and "Log out of all devices".
func (h *Handler) profileShow(c *fiber.Ctx) error {
	p, err := h.people.Get(c.UserContext(), *web.CurrentSession(c).PersonID)
	if err != nil {
		return err
	}
	return h.render.Render(c, web.Page{Template: "account/profile", Title: "account.profile.title", Data: p})
}

// signOutEverywhere ends every session of the person, this one included.
func (h *Handler) signOutEverywhere(c *fiber.Ctx) error {
	id := *web.CurrentSession(c).PersonID
	if err := h.sessions.DestroyAll(c.UserContext(), id); err != nil {
		return err
	}
	if err := h.audit.Write(c.UserContext(), nil, audit.Event{ActorID: &id, Action: "session.signed_out_everywhere",
		RequestID: web.RequestID(c)}); err != nil {
		return err
	}
	if err := h.sessions.Destroy(c); err != nil {
		return err
	}
	c.Set("Clear-Site-Data", `"cache", "storage"`)
	return web.Redirect(c, "/signed-out")
}
