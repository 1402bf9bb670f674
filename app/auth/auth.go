// Package auth signs people in and out and keeps their sessions honest:
// credentials, factors, the idle timeout's endpoints and sign-out.
//
// Invariants:
//   - Nothing past sign-in is reachable below AAL2 (RequireSignedIn).
//   - Staff pages need a staff role on top (RequireStaff).
//   - The idle deadline is the server's: the browser's countdown only mirrors
//     it, and status checks (marked passive) never extend it.
//   - A new password is accepted by CheckPassword alone: the page's script
//     (static/js/password.js) only mirrors its rules, and a refused password
//     is never written back into the page.
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/factors"
	"portal/app/metrics"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/seal"
	"portal/app/web"
)

// Handler serves the session endpoints.
type Handler struct{ Deps }

// Deps are what the auth handler works with.
type Deps struct {
	Sessions *web.Sessions
	Render   *web.Renderer
	People   *accounts.Store
	Audit    *audit.Log
	Limiter  *ratelimit.Limiter
	Hasher   *Hasher
	Lockout  *Lockout
	Devices  *Devices
	Codes    *Codes
	Calls    *Calls
	Factors  *factors.Store     // an authenticator app, passkeys, recovery codes
	Passkeys *webauthn.WebAuthn // the relying party BASE_URL names (factors.NewRelyingParty)
	Sealer   *seal.Sealer
	Notifier *notify.Notifier
	Clock    clock.Clock
	Log      *slog.Logger
	Secure   bool     // production: cookies are Secure
	Regions  []string // PHONE_COUNTRIES: where sign-in phones may be
	// StaffPasskeys (STAFF_PASSKEYS): staff sign in with a passkey; one
	// without a passkey yet signs in with the phone and adds one first.
	StaffPasskeys bool
	// Key (SESSION_KEY) keys each session's device key (deviceKey).
	Key []byte
	// Metrics counts sign-in outcomes by method; nil counts nothing.
	Metrics *metrics.Metrics
}

// NewHandler returns the auth handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// CheckRegions refuses a PHONE_COUNTRIES that names a region the portal
// cannot name on its pages (see Countries).
func CheckRegions(regions []string) error {
	if len(regions) == 0 {
		return errors.New("auth: PHONE_COUNTRIES names no region")
	}
	for _, r := range regions {
		if _, ok := Countries[r]; !ok {
			return fmt.Errorf("auth: PHONE_COUNTRIES: %q is not one of the regions the portal knows", r)
		}
	}
	return nil
}

// countries are the allowed regions, for the "Country code" select.
func (h *Handler) countries() []Country {
	out := make([]Country, 0, len(h.Regions))
	for _, r := range h.Regions {
		out = append(out, Countries[r])
	}
	return out
}

// RequireSignedIn lets through only sessions at AAL2; others go to sign in
// (HTMX gets a full-page redirect, so no fragment of a sign-in page lands
// inside a signed-in page).
func (h *Handler) RequireSignedIn() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if web.CurrentSession(c).SignedIn() {
			return c.Next()
		}
		target := h.Render.Path("auth.sign_in")
		if c.Method() == fiber.MethodGet && c.Path() != "/" {
			// Back to this page after signing in (checked again then: relative only).
			target += "?next=" + url.QueryEscape(c.OriginalURL())
		}
		if web.SessionJustExpired(c) {
			target = h.Render.Path("session.timeout")
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
		if !web.CurrentViewer(c).Staff {
			return web.NotFound()
		}
		return c.Next()
	}
}
