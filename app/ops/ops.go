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

// readyz says whether the database and storage answer. Each is asked at
// once and given its own three seconds, so a part that hangs (storage
// retrying) is never the reason another is called down.
func (h *Handler) readyz(c *fiber.Ctx) error {
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(h.deps))
	for name, p := range h.deps {
		go func() {
			ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
			defer cancel()
			results <- result{name, p.Ping(ctx)}
		}()
	}
	checks, ready := fiber.Map{}, true
	for range h.deps {
		r := <-results
		checks[r.name] = "ok"
		if r.err != nil {
			checks[r.name], ready = "unavailable", false
		}
	}
	status := "ready"
	if !ready {
		status = "not ready"
		c.Status(fiber.StatusServiceUnavailable)
	}
	return c.JSON(fiber.Map{"status": status, "checks": checks})
}
