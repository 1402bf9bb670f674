// Package auth signs people in and out and keeps their sessions honest:
// credentials, factors, the idle timeout's endpoints and sign-out.
//
// Invariants:
//   - Nothing past sign-in is reachable below AAL2 (RequireSignedIn).
//   - Staff pages need a staff role on top (RequireStaff).
//   - The idle deadline is the server's: the browser's countdown only mirrors
//     it, and status checks (marked passive) never extend it.
package auth

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/web"
)

// Handler serves the session endpoints.
type Handler struct {
	sessions *web.Sessions
	render   *web.Renderer
	people   *accounts.Store
	audit    *audit.Log
	clock    clock.Clock
	log      *slog.Logger
}

// NewHandler returns the auth handler.
func NewHandler(s *web.Sessions, r *web.Renderer, people *accounts.Store, a *audit.Log, clk clock.Clock, log *slog.Logger) *Handler {
	return &Handler{sessions: s, render: r, people: people, audit: a, clock: clk, log: log}
}

// RequireSignedIn lets through only sessions at AAL2; others go to sign in
// (HTMX gets a full-page redirect, so no fragment of a sign-in page lands
// inside a signed-in page).
func RequireSignedIn() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if web.CurrentSession(c).SignedIn() {
			return c.Next()
		}
		target := "/sign-in"
		if web.SessionJustExpired(c) {
			target = "/session/timeout"
		}
		if c.Get("HX-Request") == "true" {
			c.Set("HX-Redirect", target)
			return c.SendStatus(fiber.StatusUnauthorized)
		}
		return c.Redirect(target, fiber.StatusSeeOther)
	}
}

// RequireStaff lets through only staff; anyone else sees a 404, as if the
// staff view did not exist.
func (h *Handler) RequireStaff() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := h.people.Get(c.UserContext(), *web.CurrentSession(c).PersonID)
		if err != nil || !p.IsStaff() {
			return web.NotFound()
		}
		return c.Next()
	}
}
