package staff

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/web"
)

// Helpers of the portal admin's pages (admin_*.go).

// redirectTo answers a POST with a 303 to the route named name.
func redirectTo(c *fiber.Ctx, name string, params fiber.Map) error {
	u, err := c.GetRouteURL(name, params)
	if err != nil || u == "" {
		return fmt.Errorf("staff: no route %q: %v", name, err)
	}
	return web.Redirect(c, u)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// personTarget names a person in the audit trail. Security: by id, never
// by email or name.
func personTarget(p *accounts.Person) string { return "person:" + itoa(p.ID) }

// roleKey is the message id of a person's role: their staff role, or
// citizen.
func roleKey(p *accounts.Person) string {
	if p.IsStaff() {
		return "staff.admin.roles." + p.StaffRole
	}
	return "staff.admin.roles." + accounts.RoleCitizen
}

// statusKey is the message id of an account's status.
func statusKey(p *accounts.Person) string { return "staff.admin.statuses." + p.Status }
