// Package staff is the council's side of the portal. It uses the other
// features; nothing imports it.
//
// Invariants:
//   - Every route is mounted under the staff group (AAL2 and a staff role).
//   - Staff reach records through their team only.
package staff

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// Handler serves the staff view.
type Handler struct{ render *web.Renderer }

// NewHandler returns the staff handler.
func NewHandler(r *web.Renderer) *Handler { return &Handler{render: r} }

// Mount adds the staff routes to a group that already requires staff.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/", h.home).Name("staff.home")
}

// home is the staff landing page.
func (h *Handler) home(c *fiber.Ctx) error {
	return h.render.Render(c, web.Page{Template: "staff/home", Title: "staff.home.title", Layout: web.LayoutStaff})
}
