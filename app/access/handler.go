package access

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/records"
	"portal/app/web"
)

// Handler serves a holder's pages: "Select an account" and each record's
// dashboard.
type Handler struct{ Deps }

// Deps are what the holder pages work with, all given at construction.
type Deps struct {
	Render *web.Renderer
	Store  *Store
	Audit  *audit.Log
	// Pending reports whether the person has invitations waiting at
	// Account setup (the invitations feature sets it; guide 001 sends them
	// there first).
	Pending func(c *fiber.Ctx, personID int64) (bool, error)
	// Contact says who works with a record and how to reach them (the
	// records feature sets it); nil shows nothing.
	Contact func(ctx context.Context, recordID int64) (records.Contact, error)
	// Counts give the dashboard's tiles their numbers, by section: each
	// feature sets its own (unopened documents, forms waiting, unread
	// messages). A section without one shows no number.
	Counts map[string]Counter
}

// Counter counts what is new for person on record in one section.
type Counter func(ctx context.Context, personID, recordID int64) (int64, error)

// NewHandler returns the holder pages' handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds the holder's routes to the signed-in group, and returns the
// group of one record's pages (/records/:record), which only a holder of
// the record passes: the features mount their sections on it.
func (h *Handler) Mount(r fiber.Router) fiber.Router {
	r.Get("/account", h.selectAccount).Name("access.select")
	rec := r.Group("/records/:record<int>", h.requireHolding)
	rec.Get("/", h.dashboard).Name("access.dashboard")
	return rec
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
			return web.Redirect(c, h.Render.Path("invitations.setup"))
		}
	}
	held, err := h.Store.RecordsOf(c.UserContext(), person)
	if err != nil {
		return err
	}
	if len(held) == 1 {
		return web.Redirect(c, h.Render.Path("access.dashboard", held[0].ID))
	}
	return h.Render.Render(c, web.Page{Template: "account/select", Title: "account.select.title", Data: held})
}

const heldKey = "access.held"

// requireHolding lets through only the holder of :record, with a grant in
// force; anything else is the 404 of a missing record.
func (h *Handler) requireHolding(c *fiber.Ctx) error {
	id, err := c.ParamsInt("record")
	if err != nil {
		return web.NotFound()
	}
	held, err := h.Store.Holding(c.UserContext(), *web.CurrentSession(c).PersonID, int64(id))
	if err != nil {
		return err
	}
	c.Locals(heldKey, held)
	if c.Method() == fiber.MethodHead && web.Passive(c) {
		// A passive HEAD asks only whether the page may still be shown (a
		// live page whose stream ended asks it): it reads, marks and
		// audits nothing.
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Next()
}

// Holding is the record of a request that passed requireHolding.
func Holding(c *fiber.Ctx) *Held { return c.Locals(heldKey).(*Held) }

// Frame is the page frame of a record's section.
func Frame(held *Held, section string) *web.RecordFrame {
	return &web.RecordFrame{ID: held.ID, Name: held.FullName(), Section: section}
}

// Dashboard is a record's dashboard page.
type Dashboard struct {
	*Held
	Counts  map[string]int64 // by section; a section missing has no count
	Contact records.Contact  // who works with the record
}

// Count is the number on section's tile, or -1 for none.
func (d Dashboard) Count(section string) int64 {
	if n, ok := d.Counts[section]; ok {
		return n
	}
	return -1
}

// CountOf is section's count for the tile partial (records/_count).
func (d Dashboard) CountOf(view *web.View, section string) CountView {
	return CountView{View: view, Section: section, N: d.Count(section)}
}

// CountView is one tile's count (records/_count): on the dashboard, and as
// the live stream sends it, out of band (OOB) for every tile but the one
// the stream's element swaps.
type CountView struct {
	*web.View
	Section string
	N       int64 // -1: the tile has no count
	OOB     bool
}

// CountSections are the tiles with a count, in the dashboard's order.
var CountSections = []string{"messages", "documents", "forms"}

// CountAll counts every section of counts for person on record, in
// CountSections' order (a section without a counter is left out).
func CountAll(ctx context.Context, counts map[string]Counter, personID, recordID int64) (map[string]int64, error) {
	out := map[string]int64{}
	for _, section := range CountSections {
		count, ok := counts[section]
		if !ok {
			continue
		}
		n, err := count(ctx, personID, recordID)
		if err != nil {
			return nil, err
		}
		out[section] = n
	}
	return out, nil
}

// dashboard is a record's dashboard: its tiles with their counts, and
// until when access lasts if a placement has ended. Opening it is audited.
func (h *Handler) dashboard(c *fiber.Ctx) error {
	held := Holding(c)
	person := *web.CurrentSession(c).PersonID
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &person, Action: "record.viewed",
		RecordID: &held.ID})); err != nil {
		return err
	}
	v := Dashboard{Held: held, Counts: map[string]int64{}}
	if h.Contact != nil {
		var err error
		if v.Contact, err = h.Contact(c.UserContext(), held.ID); err != nil {
			return err
		}
	}
	var err error
	if v.Counts, err = CountAll(c.UserContext(), h.Counts, person, held.ID); err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "records/dashboard", Title: "records.dashboard.title", Data: v,
		Record: Frame(held, "dashboard")})
}
