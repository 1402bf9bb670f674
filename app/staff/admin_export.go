package staff

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// A portal admin makes a person's "Download my data" export for a request
// made on paper (issue 17). It is the admin's to download, not the
// person's, and every step is audited (app/export): the one place an
// admin reads what a person holds, because the law gives the person that
// right, however they ask.

// adminExport asks for an export of the path's person.
func (h *Handler) adminExport(c *fiber.Ctx) error {
	p, err := h.personOf(c)
	if err != nil {
		return err
	}
	made, err := h.Exports.Ask(c, p.ID)
	if err != nil {
		return err
	}
	flash := "staff.admin.person.export_already"
	if made {
		flash = "staff.admin.person.export_requested"
	}
	if err := h.Sessions.AddFlash(c, "success", flash); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.admin.person", p.ID)+"#exports")
}

// adminExportDownload sends an export this admin made of the person.
func (h *Handler) adminExportDownload(c *fiber.Ctx) error {
	p, err := h.personOf(c)
	if err != nil {
		return err
	}
	return h.Exports.Send(c, p.ID)
}
