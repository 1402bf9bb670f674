// Package pages serves the public pages every public-sector service must
// have: the home page, help, privacy notice, terms, cookies and the
// accessibility statement. Their words live in locales/pages.*.toml.
package pages

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// Handler serves the public pages.
type Handler struct{ render *web.Renderer }

// NewHandler returns the pages handler.
func NewHandler(r *web.Renderer) *Handler { return &Handler{render: r} }

// Mount adds the pages to the public routes.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/", h.page("pages/home", "home.title")).Name("pages.home")
	for _, name := range []string{"help", "privacy", "terms", "cookies", "accessibility"} {
		r.Get("/"+name, h.page("pages/"+name, "pages."+name+".title")).Name("pages." + name)
	}
}

func (h *Handler) page(template, title string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// Static: their words only, rendered once per language.
		return h.render.Render(c, web.Page{Template: template, Title: title, Static: true})
	}
}
