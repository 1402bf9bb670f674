package auth

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/web"
)

// sessionTimeout is where the countdown sends the browser at zero. If
// another tab kept the session alive, the person goes back to their account;
// otherwise the session ends and the page says why.
func (h *Handler) sessionTimeout(c *fiber.Ctx) error {
	if sess := web.CurrentSession(c); sess.SignedIn() {
		if h.remaining(sess) > 0 {
			return c.Redirect(h.Render.Path("access.select"), fiber.StatusSeeOther)
		}
		if err := h.endSession(c, "session.timed_out"); err != nil {
			return err
		}
	}
	clearSiteData(c)
	return h.Render.Render(c, web.Page{Template: "auth/signed_out", Title: "auth.timed_out.title",
		Data: "auth.timed_out.body"})
}

// signOut is "Log out" from the menu under the person's name.
func (h *Handler) signOut(c *fiber.Ctx) error {
	if err := h.endSession(c, "session.signed_out"); err != nil {
		return err
	}
	clearSiteData(c)
	return web.Redirect(c, h.Render.Path("session.signed_out"))
}

// signedOut confirms the person signed out.
func (h *Handler) signedOut(c *fiber.Ctx) error {
	clearSiteData(c)
	return h.Render.Render(c, web.Page{Template: "auth/signed_out", Title: "auth.signed_out.title",
		Data: "auth.signed_out.body"})
}

func (h *Handler) endSession(c *fiber.Ctx, action string) error {
	sess := web.CurrentSession(c)
	if sess != nil && sess.PersonID != nil {
		if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: sess.PersonID, Action: action,
			IP: c.IP()})); err != nil {
			return err
		}
	}
	return h.Sessions.Destroy(c)
}

// clearSiteData tells the browser to drop cached pages, so the back button
// on a shared device shows nothing of the person's record.
func clearSiteData(c *fiber.Ctx) {
	c.Set("Clear-Site-Data", `"cache", "storage"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
}
