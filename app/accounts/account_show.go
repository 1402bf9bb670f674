package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// Handler serves the signed-in person's own pages.
type Handler struct {
	render *web.Renderer
	people *Store
}

// NewHandler returns the accounts handler.
func NewHandler(r *web.Renderer, people *Store) *Handler { return &Handler{render: r, people: people} }

// Mount adds the signed-in routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/account", h.show).Name("account.show")
}

// show is "Select an account": the records the person can reach. Records
// come with invitations and grants (a later feature); until then it says so.
func (h *Handler) show(c *fiber.Ctx) error {
	return h.render.Render(c, web.Page{Template: "account/select", Title: "account.select.title"})
}
