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
	Routes   *web.Routes  // RequireTerms lets BeforeTerms routes through
	Sealer   *seal.Sealer // opens and seals addresses
	Secure   bool         // production: cookies are Secure
}

// NewHandler returns the accounts handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds the signed-in routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/terms/accept", web.BeforeTerms, h.termsForm).Name("account.terms")
	r.Post("/terms/accept", web.BeforeTerms, h.termsAccept).Name("account.terms.accept")
	r.Get("/profile", h.profileShow).Name("account.profile")
	r.Post("/profile", h.profileSave).Name("account.profile.save")
	r.Post("/profile/sign-out-everywhere", h.signOutEverywhere).Name("account.sign_out_everywhere")
}
