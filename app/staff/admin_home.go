package staff

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// adminHome is the portal admin's index: teams, staff accounts and people.
func (h *Handler) adminHome(c *fiber.Ctx) error {
	return h.page(c, web.Page{Template: "staff/admin_home", Title: "staff.admin.home.title"})
}
