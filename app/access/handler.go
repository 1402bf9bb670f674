package access

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/web"
)

// Handler serves a holder's pages: "Select an account" and each record's
// dashboard and sections.
type Handler struct {
	render *web.Renderer
	store  *Store
	audit  *audit.Log
	// Pending reports whether the person has invitations waiting at
	// Account setup (the invitations feature sets it; guide 001 sends them
	// there first).
	Pending func(c *fiber.Ctx, personID int64) (bool, error)
}

// NewHandler returns the holder pages' handler.
func NewHandler(r *web.Renderer, s *Store, a *audit.Log) *Handler {
	return &Handler{render: r, store: s, audit: a}
}

// Mount adds the holder's routes to the signed-in group.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/account", h.selectAccount).Name("access.select")
	rec := r.Group("/records/:record<int>", h.requireHolding)
	rec.Get("/", h.dashboard).Name("access.dashboard")
	for _, s := range []string{"messages", "documents", "forms"} {
		section := s
		rec.Get("/"+section, func(c *fiber.Ctx) error { return h.section(c, section) }).Name("access." + section)
	}
}

// selectAccount is "Select an account": with one record, straight to its
// dashboard (guide 000: "If you only have one account, you'll go straight
// into the dashboard"); invitations waiting come first.
func (h *Handler) selectAccount(c *fiber.Ctx) error {
	person := *web.CurrentSession(c).PersonID
	if h.Pending != nil {
		if waiting, err := h.Pending(c, person); err != nil || waiting {
			if err != nil {
				return err
			}
			return web.Redirect(c, "/account/setup")
		}
	}
	held, err := h.store.RecordsOf(c.UserContext(), person)
	if err != nil {
		return err
	}
	if len(held) == 1 {
		return web.Redirect(c, "/records/"+itoa(held[0].ID))
	}
	return h.render.Render(c, web.Page{Template: "account/select", Title: "account.select.title", Data: held})
}

const heldKey = "access.held"

// requireHolding lets through only the holder of :record, with a grant in
// force; anything else is the 404 of a missing record.
func (h *Handler) requireHolding(c *fiber.Ctx) error {
	id, err := c.ParamsInt("record")
	if err != nil {
		return web.NotFound()
	}
	held, err := h.store.Holding(c.UserContext(), *web.CurrentSession(c).PersonID, int64(id))
	if errors.Is(err, ErrNotFound) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	c.Locals(heldKey, held)
	return c.Next()
}

// Holding is the record of a request that passed requireHolding.
func Holding(c *fiber.Ctx) *Held { return c.Locals(heldKey).(*Held) }

// Frame is the page frame of a record's section.
func Frame(held *Held, section string) *web.RecordFrame {
	return &web.RecordFrame{ID: held.ID, Name: held.FullName(), Section: section}
}

// dashboard is a record's dashboard: its tiles, and until when access
// lasts if a placement has ended. Opening it is audited.
func (h *Handler) dashboard(c *fiber.Ctx) error {
	held := Holding(c)
	person := *web.CurrentSession(c).PersonID
	if err := h.audit.Write(c.UserContext(), nil, audit.Event{ActorID: &person, Action: "record.viewed",
		RecordID: &held.ID, RequestID: web.RequestID(c)}); err != nil {
		return err
	}
	return h.render.Render(c, web.Page{Template: "records/dashboard", Title: "records.dashboard.title", Data: held,
		Record: Frame(held, "dashboard")})
}

// section is a record's messages, documents or forms page; the features
// that fill them replace these routes.
func (h *Handler) section(c *fiber.Ctx, section string) error {
	held := Holding(c)
	return h.render.Render(c, web.Page{Template: "records/section", Title: "records.nav." + section,
		Data: "records." + section + ".none", Record: Frame(held, section)})
}
