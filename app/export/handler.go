package export

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/ratelimit"
	"portal/app/uploads"
	"portal/app/web"
)

// requestsPerPerson bounds how often one asker makes exports of one
// person: each reads everything they have.
var requestsPerPerson = ratelimit.Rule{Name: "export:asker", Max: 3, Window: 24 * time.Hour}

// Handler serves "Download my data" in My account, and the admin's export
// of a person (mounted by the staff view, which checks the admin).
type Handler struct {
	Service  *Service
	Render   *web.Renderer
	Sessions *web.Sessions
	Limiter  *ratelimit.Limiter
}

// MountAccount adds the person's own pages.
func (h *Handler) MountAccount(r fiber.Router) {
	r.Get("/account/data", h.page).Name("export.page")
	r.Post("/account/data", h.request).Name("export.request")
	r.Get("/account/data/:export<int>/download", h.download).Name("export.download")
}

// PageView is "Download my data": the person's exports, newest first.
type PageView struct {
	Exports  []Export
	Pending  bool // one is being made: no button to ask again
	KeepDays int
}

func (h *Handler) page(c *fiber.Ctx) error {
	me := person(c)
	list, err := h.Service.Store.List(c.UserContext(), me, me)
	if err != nil {
		return err
	}
	v := PageView{Exports: list, KeepDays: int(Keep / (24 * time.Hour))}
	for _, e := range list {
		v.Pending = v.Pending || e.Status == Pending
	}
	return h.Render.Render(c, web.Page{Template: "export/page", Title: "export.page.title", Data: v})
}

// request asks for the person's own export.
func (h *Handler) request(c *fiber.Ctx) error {
	made, err := h.Ask(c, person(c))
	if err != nil {
		return err
	}
	flash := "export.already"
	if made {
		flash = "export.requested"
	}
	if err := h.Sessions.AddFlash(c, "success", flash); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("export.page"))
}

// Ask asks for an export of person's data by the signed-in person (them,
// or an admin), within requestsPerPerson; made is false when one is being
// made already.
func (h *Handler) Ask(c *fiber.Ctx, personID int64) (made bool, err error) {
	by := person(c)
	ok, _, err := h.Limiter.Allow(c.UserContext(), requestsPerPerson, strconv.FormatInt(by, 10)+":"+strconv.FormatInt(personID, 10))
	if err != nil || !ok {
		if err == nil {
			err = &web.Error{Status: fiber.StatusTooManyRequests, Key: "export.error_limit"}
		}
		return false, err
	}
	return h.Service.Request(c.UserContext(), personID, by, web.FromRequest(c, audit.Event{}))
}

// download sends the person's own export, while it is kept.
func (h *Handler) download(c *fiber.Ctx) error {
	me := person(c)
	return h.Send(c, me)
}

// Send sends export :export of person personID to the signed-in asker, and
// audits it; any other is the 404 of none.
func (h *Handler) Send(c *fiber.Ctx, personID int64) error {
	id, err := strconv.ParseInt(c.Params("export"), 10, 64)
	if err != nil || c.Get("Sec-Fetch-Site") == "cross-site" {
		return web.NotFound()
	}
	by := person(c)
	e, err := h.Service.Store.Get(c.UserContext(), personID, by, id)
	if err != nil {
		return err
	}
	r, err := h.Service.Store.Open(c.UserContext(), e)
	if err != nil {
		return err
	}
	ev := web.FromRequest(c, audit.Event{ActorID: &by, Action: "export.downloaded", Target: "export:" + strconv.FormatInt(e.ID, 10)})
	if err := h.Service.Audit.Write(c.UserContext(), nil, ev); err != nil {
		r.Close()
		return err
	}
	name := uploads.SafeFileName(h.Render.Localizer(c).T("export.file_name",
		"Date", e.CreatedAt.In(clock.London).Format(time.DateOnly)), "", uploads.Type{}) + ".zip"
	return web.SendFile(c, r, *e.Size, "application/zip", name)
}

func person(c *fiber.Ctx) int64 { return *web.CurrentSession(c).PersonID }
