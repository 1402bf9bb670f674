package auth

import (
	"encoding/base64"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"portal/app/keyhash"
	"portal/app/web"
)

// deviceKey gives the signed-in session's device key: the AES-256 key
// under which static/js/offline.js keeps, in the browser's IndexedDB, a
// form sent without signal until it can go. The page holds it in memory
// only and asks for it again on every page, so the device never stores
// the key beside what it opens.
//
// It is derived, not stored: a keyed hash of the session's id, so every
// session has its own (signing in again makes what an older session left
// unreadable, and the page throws it away) and the server keeps nothing.
// Asking for it is not activity (web.PassiveRoute). A page of ours asks
// from its own origin; a request another site's page made is refused.
func (h *Handler) deviceKey(c *fiber.Ctx) error {
	if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return web.NotFound()
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	key := keyhash.Sum(h.Key, "device-key", strconv.FormatInt(web.CurrentSession(c).ID, 10))
	return c.JSON(fiber.Map{"key": base64.RawURLEncoding.EncodeToString(key)})
}
