package auth

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// sessionStatus tells the idle countdown how long is left. The browser marks
// the request passive, so asking does not count as activity.
func (h *Handler) sessionStatus(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	sess := web.CurrentSession(c)
	if !sess.SignedIn() {
		return c.JSON(fiber.Map{"signed_in": false, "remaining": 0})
	}
	return c.JSON(fiber.Map{"signed_in": true, "remaining": h.remaining(sess)})
}

// sessionExtend is "Stay signed in" and the typing heartbeat: the session
// middleware has already recorded the activity; this answers the new time.
func (h *Handler) sessionExtend(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"signed_in": true, "remaining": h.remaining(web.CurrentSession(c))})
}

func (h *Handler) remaining(sess *web.Session) int {
	left := int(sess.IdleDeadline().Sub(h.Clock.Now()).Seconds())
	if left < 0 {
		return 0
	}
	return left
}
