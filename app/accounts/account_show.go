package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/web"
)

// Handler serves the signed-in person's own pages.
type Handler struct {
	render   *web.Renderer
	people   *Store
	audit    *audit.Log
	clock    clock.Clock
	sessions *web.Sessions
}

// NewHandler returns the accounts handler.
func NewHandler(r *web.Renderer, people *Store, a *audit.Log, clk clock.Clock, s *web.Sessions) *Handler {
	return &Handler{render: r, people: people, audit: a, clock: clk, sessions: s}
}

// Mount adds the signed-in routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/account", h.show).Name("account.show")
	r.Get("/terms/accept", h.termsForm).Name("account.terms")
	r.Post("/terms/accept", h.termsAccept).Name("account.terms.accept")
	r.Get("/profile", h.profileShow).Name("account.profile")
	r.Post("/profile/sign-out-everywhere", h.signOutEverywhere).Name("account.sign_out_everywhere")
}

// show is "Select an account": the records the person can reach. Records
// come with invitations and grants (a later feature); until then it says so.
func (h *Handler) show(c *fiber.Ctx) error {
	return h.render.Render(c, web.Page{Template: "account/select", Title: "account.select.title"})
}
