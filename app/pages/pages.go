// Package pages serves the public pages every public-sector service must
// have: the home page, help, privacy notice, terms, cookies and the
// accessibility statement; and what makes the portal an installable app
// (pwa.go): the offline page, the manifest and the service worker. Their
// words live in locales/pages.*.toml.
package pages

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// Handler serves the public pages.
type Handler struct {
	render *web.Renderer
	worker worker // the service worker's source (pwa.go)
}

// NewHandler returns the pages handler.
func NewHandler(r *web.Renderer) *Handler { return &Handler{render: r} }

// Mount adds the pages to the public routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/", h.page("pages/home", "home.title")).Name("pages.home")
	for _, name := range []string{"help", "privacy", "terms", "cookies", "accessibility"} {
		r.Get("/"+name, h.page("pages/"+name, "pages."+name+".title")).Name("pages." + name)
	}
	r.Get("/offline", h.offline).Name("pages.offline")
	r.Get("/manifest.webmanifest", web.PassiveRoute, h.manifest).Name("pages.manifest")
	r.Get("/sw.js", web.PassiveRoute, h.serviceWorker).Name("pages.service_worker")
}

func (h *Handler) page(template, title string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// Static: their words only, rendered once per language.
		return h.render.Render(c, web.Page{Template: template, Title: title, Static: true})
	}
}
