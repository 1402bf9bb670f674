package documents

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/audit"
	"portal/app/web"
	"portal/storage"
)

// Handler serves "Items to view" to a record's holders.
type Handler struct{ Deps }

// Deps are what "Items to view" works with.
type Deps struct {
	Render  *web.Renderer
	Store   *Store
	Objects storage.Store
	Audit   *audit.Log
}

// NewHandler returns the holder's documents handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds "Items to view" to the group of a record's pages, which lets
// through only a holder of the record.
func (h *Handler) Mount(rec fiber.Router) {
	rec.Get("/documents", h.list).Name("documents.list")
	rec.Get("/documents/:document<int>", h.download).Name("documents.download")
}

// list is "Items to view": what was sent to this holder on this record,
// newest first, unopened items in bold. There is no upload here (guide 001:
// items to view cannot be sent back). Seeing the list is audited.
func (h *Handler) list(c *fiber.Ctx) error {
	held := access.Holding(c)
	person := *web.CurrentSession(c).PersonID
	items, err := h.Store.ForHolder(c.UserContext(), person, held.ID)
	if err != nil {
		return err
	}
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &person, Action: "document.listed",
		RecordID: &held.ID})); err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "documents/list", Title: "records.nav.documents", Data: items,
		Record: access.Frame(held, "documents")})
}

// download streams one item to its recipient. Every download is audited;
// the first also marks the item opened, once the file is on its way.
// Security: a link from another site (SameSite=Lax lets the session
// through) downloads nothing, so "opened" means the holder asked for it.
func (h *Handler) download(c *fiber.Ctx) error {
	held := access.Holding(c)
	person := *web.CurrentSession(c).PersonID
	id, err := c.ParamsInt("document")
	if err != nil || c.Get("Sec-Fetch-Site") == "cross-site" {
		return web.NotFound()
	}
	item, err := h.Store.HolderItem(c.UserContext(), person, held.ID, int64(id))
	if err != nil {
		return err
	}
	return Send(c, h.Objects, &item.Document, func() error {
		if c.Method() != fiber.MethodGet {
			return nil // HEAD: headers only, nothing opened
		}
		first, err := h.Store.MarkOpened(c.UserContext(), person, item.ID)
		if err != nil {
			return err
		}
		action := "document.downloaded"
		if first {
			action = "document.opened"
		}
		return h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &person, Action: action, RecordID: &held.ID,
			Target: fmt.Sprintf("document:%d", item.ID)}))
	})
}

// Send streams d's file from storage as a download (web.SendFile),
// calling sending (if not nil) once the file is found, before any byte
// goes: what it records (an open, an audit event) is true only of a
// download under way.
func Send(c *fiber.Ctx, objects storage.Store, d *Document, sending func() error) error {
	r, info, err := objects.Get(c.UserContext(), d.ObjectKey)
	if err != nil {
		return fmt.Errorf("documents: send %d: %w", d.ID, err)
	}
	if sending != nil {
		if err := sending(); err != nil {
			r.Close()
			return err
		}
	}
	return web.SendFile(c, r, info.Size, d.ContentType, d.FileName)
}
