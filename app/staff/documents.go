package staff

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/documents"
	"portal/app/records"
	"portal/app/web"
)

// DocumentView is "Send a document": the record and who can receive it.
type DocumentView struct {
	Record  *records.Record
	Holders []access.Holder // in force only: nobody else can be chosen
	Kinds   []string
	Ticked  map[int64]bool // recipients chosen before an error
	// RecipientsHint is the message id of the recipients' hint.
	RecipientsHint string
	// LimitMB and TitleMax are the form's limits, for its hints.
	LimitMB  int64
	TitleMax int
}

// documentNew is "Send a document". Nobody is chosen to receive it until
// the worker ticks them.
func (h *Handler) documentNew(c *fiber.Ctx) error {
	r := teamRecord(c)
	return h.documentPage(c, r, web.NewForm(), nil, fiber.StatusOK)
}

func (h *Handler) documentPage(c *fiber.Ctx, r *records.Record, form *web.Form, ticked map[int64]bool, status int) error {
	holders, err := h.holdersInForce(c, r.ID)
	if err != nil {
		return err
	}
	v := DocumentView{Record: r, Holders: holders, Kinds: documents.UploadKinds, Ticked: ticked,
		RecipientsHint: "staff.document.recipients_hint",
		LimitMB:        uploadLimit >> 20, TitleMax: documents.TitleMax}
	return h.page(c, web.Page{Template: "staff/document_new", Title: "staff.document.title", Data: v, Form: form, Status: status})
}

// holdersInForce are the record's holders who can receive something now.
func (h *Handler) holdersInForce(c *fiber.Ctx, recordID int64) ([]access.Holder, error) {
	all, err := h.Access.HoldersOf(c.UserContext(), recordID)
	if err != nil {
		return nil, err
	}
	var out []access.Holder
	for _, x := range all {
		if x.InForce {
			out = append(out, x)
		}
	}
	return out, nil
}

// documentDownload lets the record's workers read what was sent, withdrawn
// documents excepted (their file is gone). Audited like a holder's.
func (h *Handler) documentDownload(c *fiber.Ctx) error {
	d, r := teamDocument(c)
	if d.WithdrawnAt != nil {
		return web.NotFound()
	}
	return documents.Send(c, h.Objects, d, func() error {
		return h.audit(c, "document.downloaded", r.ID, "document:"+itoa(d.ID))
	})
}

// WithdrawView is "Withdraw a document".
type WithdrawView struct {
	Record   *records.Record
	Document *documents.Document
}

// documentWithdrawConfirm asks before withdrawing: it cannot be undone.
func (h *Handler) documentWithdrawConfirm(c *fiber.Ctx) error {
	d, r := teamDocument(c)
	if d.WithdrawnAt != nil {
		return web.NotFound()
	}
	return h.page(c, web.Page{Template: "staff/document_withdraw", Title: "staff.document.withdraw_title",
		Data: WithdrawView{Record: r, Document: d}})
}

// documentWithdraw takes back a document sent in error: holders no longer
// see it, its file is deleted, and the trail keeps what happened.
func (h *Handler) documentWithdraw(c *fiber.Ctx) error {
	d, r := teamDocument(c)
	err := h.DB.WithContext(c.UserContext()).Transaction(func(tx *gorm.DB) error {
		if _, err := h.Documents.Withdraw(c.UserContext(), tx, r.ID, d.ID, actor(c).ID); err != nil {
			return err // documents.ErrNotFound: withdrawn meanwhile, a 404
		}
		return h.auditTx(c, tx, "document.withdrawn", r.ID, "document:"+itoa(d.ID))
	})
	if err != nil {
		return err
	}
	// After the commit: a failed delete leaves a file nobody can reach
	// (the row says withdrawn), never a listed document without its file.
	if err := h.Objects.Delete(c.UserContext(), d.ObjectKey); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.document.withdrawn"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID)+"#documents")
}

// loadDocument puts the URL's :document on the request when it was sent
// on the loaded record (loadRecord runs first); anything else is a 404.
func (h *Handler) loadDocument(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("document"), 10, 64)
	if err != nil {
		return web.NotFound()
	}
	d, err := h.Documents.OnRecord(c.UserContext(), teamRecord(c).ID, id)
	if err != nil {
		return err
	}
	c.Locals(documentKey, d)
	return c.Next()
}

const documentKey = "staff.document"

// teamDocument is the document loadDocument put on the request, and its record.
func teamDocument(c *fiber.Ctx) (*documents.Document, *records.Record) {
	return c.Locals(documentKey).(*documents.Document), teamRecord(c)
}
