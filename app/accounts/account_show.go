package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/seal"
	"portal/app/web"
)

// Handler serves the signed-in person's own pages.
type Handler struct {
	Deps
}

// Deps are what the accounts handler works with.
type Deps struct {
	Render   *web.Renderer
	People   *Store
	Audit    *audit.Log
	Clock    clock.Clock
	Sessions *web.Sessions
	Sealer   *seal.Sealer // opens and seals addresses
	Secure   bool         // production: cookies are Secure
}

// NewHandler returns the accounts handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds the signed-in routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/account", h.show).Name("account.show")
	r.Get("/terms/accept", h.termsForm).Name("account.terms")
	r.Post("/terms/accept", h.termsAccept).Name("account.terms.accept")
	r.Get("/profile", h.profileShow).Name("account.profile")
	r.Post("/profile", h.profileSave).Name("account.profile.save")
	r.Post("/profile/sign-out-everywhere", h.signOutEverywhere).Name("account.sign_out_everywhere")
}

// show is "Select an account": the records the person can reach. Records
// come with invitations and grants (a later feature); until then it says so.
func (h *Handler) show(c *fiber.Ctx) error {
	return h.Render.Render(c, web.Page{Template: "account/select", Title: "account.select.title"})
}
