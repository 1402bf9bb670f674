package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/web"
)

// RequireTerms sends a person who has not yet confirmed the terms to do so
// before anything else (guide 004: "Before you can use your account").
// The routes marked web.BeforeTerms (the terms, signing out, keeping the
// session) stay open.
func (h *Handler) RequireTerms() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if v := web.CurrentViewer(c); !v.TermsAccepted && !v.Staff && !h.Routes.On(c, web.BeforeTerms) {
			return web.Redirect(c, h.Render.Path("account.terms"))
		}
		return c.Next()
	}
}

// termsForm asks for the terms and the updates choice.
func (h *Handler) termsForm(c *fiber.Ctx) error {
	return h.Render.Render(c, web.Page{Template: "account/terms", Title: "account.terms.title", Form: web.NewForm()})
}

// termsAccept records both answers with the time.
func (h *Handler) termsAccept(c *fiber.Ctx) error {
	form := web.NewForm()
	form.Values["updates"] = c.FormValue("updates")
	if c.FormValue("terms") != "yes" {
		form.Add("terms", "account.terms.error_terms")
		return h.Render.Render(c, web.Page{Template: "account/terms", Title: "account.terms.title", Form: form,
			Status: fiber.StatusUnprocessableEntity})
	}
	id := *web.CurrentSession(c).PersonID
	if err := h.People.AcceptTerms(c.UserContext(), id, form.Values["updates"] == "yes", h.Clock.Now()); err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &id, Action: "account.terms_accepted"})); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("access.select"))
}
