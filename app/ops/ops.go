// Package ops answers the platform's health checks. Neither endpoint reveals
// anything but up or not: no versions, no error text.
package ops

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Pinger is something readiness depends on.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Handler serves /healthz and /readyz.
type Handler struct{ deps map[string]Pinger }

// NewHandler returns the handler; deps are named for the readiness answer.
func NewHandler(deps map[string]Pinger) *Handler { return &Handler{deps: deps} }

// Mount adds the routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/healthz", h.healthz).Name("ops.healthz")
	r.Get("/readyz", h.readyz).Name("ops.readyz")
}

// healthz says the process is up.
func (h *Handler) healthz(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) }

// readyz says whether the database and storage answer.
func (h *Handler) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	checks, ready := fiber.Map{}, true
	for name, p := range h.deps {
		if err := p.Ping(ctx); err != nil {
			checks[name], ready = "unavailable", false
			continue
		}
		checks[name] = "ok"
	}
	status := "ready"
	if !ready {
		status = "not ready"
		c.Status(fiber.StatusServiceUnavailable)
	}
	return c.JSON(fiber.Map{"status": status, "checks": checks})
}
