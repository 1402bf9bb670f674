package staff

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/audit"
	"portal/app/documents"
	"portal/app/forms"
	"portal/app/invitations"
	"portal/app/records"
	"portal/app/web"
)

// recordsList is the team's records, searched by name or case reference.
func (h *Handler) recordsList(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	list, err := h.Records.ForTeam(c.UserContext(), *actor(c).TeamID, q, 200)
	if err != nil {
		return err
	}
	form := web.NewForm()
	form.Values["q"] = q
	return h.page(c, web.Page{Template: "staff/records", Title: "staff.records.title", Data: list, Form: form})
}

// loadRecord puts the URL's :record on the request when it is the
// actor's team's (the /records/:record group's loader); any other id is
// the 404 of a missing record.
func (h *Handler) loadRecord(c *fiber.Ctx) error {
	id, err := c.ParamsInt("record")
	if err != nil {
		return web.NotFound()
	}
	r, err := h.Records.InTeam(c.UserContext(), *actor(c).TeamID, int64(id))
	if err != nil {
		return err
	}
	c.Locals(recordKey, r)
	return c.Next()
}

const recordKey = "staff.record"

// teamRecord is the record loadRecord put on the request.
func teamRecord(c *fiber.Ctx) *records.Record { return c.Locals(recordKey).(*records.Record) }

// RecordView is the staff record page: the record, who holds it, its
// invitations, the documents sent on it and its history.
type RecordView struct {
	Record      *records.Record
	Holders     []access.Holder
	Invitations []invitations.Invitation
	Documents   []documents.Sent
	Forms       []forms.Sent
	Events      []audit.Event
	Now         time.Time
	// Focus is the invitation whose confirm form is in error, if any.
	Focus int64
}

// recordShow is a record's page. Opening it is audited.
func (h *Handler) recordShow(c *fiber.Ctx) error {
	r := teamRecord(c)
	if err := h.audit(c, "record.opened", r.ID, ""); err != nil {
		return err
	}
	return h.recordPage(c, r, web.NewForm(), 0, fiber.StatusOK)
}

func (h *Handler) recordPage(c *fiber.Ctx, r *records.Record, form *web.Form, focus int64, status int) error {
	v := RecordView{Record: r, Now: h.Clock.Now(), Focus: focus}
	var err error
	if v.Holders, err = h.Access.HoldersOf(c.UserContext(), r.ID); err != nil {
		return err
	}
	if v.Invitations, err = h.Invitations.ForRecord(c.UserContext(), r.ID); err != nil {
		return err
	}
	if v.Documents, err = h.Documents.ForRecord(c.UserContext(), r.ID, 100); err != nil {
		return err
	}
	if v.Forms, err = h.Forms.ForRecord(c.UserContext(), r.ID, 100); err != nil {
		return err
	}
	if v.Events, err = h.Audit.ForRecord(c.UserContext(), r.ID, 50); err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/record", Title: "staff.record.title", Data: v, Form: form, Status: status})
}

// recordNew is "Add a record".
func (h *Handler) recordNew(c *fiber.Ctx) error {
	form := web.NewForm()
	form.Values["kind"] = records.KindChild
	return h.page(c, web.Page{Template: "staff/record_new", Title: "staff.record_new.title", Form: form, Data: records.Kinds})
}

// recordCreate adds a record to the actor's team, allocated to them.
func (h *Handler) recordCreate(c *fiber.Ctx) error {
	form := web.NewForm()
	for _, f := range []string{"kind", "case_reference", "given_name", "family_name", "date_of_birth"} {
		form.Values[f] = strings.TrimSpace(c.FormValue(f))
	}
	r := bindRecord(form)
	if form.Valid() {
		r.TeamID, r.AllocatedWorkerID = *actor(c).TeamID, &actor(c).ID
		err := h.Records.Create(c.UserContext(), r)
		if errors.Is(err, records.ErrReferenceTaken) {
			form.Add("case_reference", "staff.record_new.error_reference_taken")
		} else if err != nil {
			return err
		}
	}
	if !form.Valid() {
		return h.page(c, web.Page{Template: "staff/record_new", Title: "staff.record_new.title", Form: form,
			Data: records.Kinds, Status: fiber.StatusUnprocessableEntity})
	}
	if err := h.audit(c, "record.created", r.ID, ""); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID))
}

// bindRecord checks the "Add a record" form, adding its errors.
func bindRecord(form *web.Form) *records.Record {
	r := &records.Record{Kind: form.Values["kind"], CaseReference: form.Values["case_reference"],
		GivenName: form.Values["given_name"], FamilyName: form.Values["family_name"]}
	if !slices.Contains(records.Kinds, r.Kind) {
		form.Add("kind", "staff.record_new.error_kind")
	}
	if r.CaseReference == "" || len(r.CaseReference) > 40 {
		form.Add("case_reference", "staff.record_new.error_reference")
	}
	for _, f := range []string{"given_name", "family_name"} {
		if v := form.Values[f]; v == "" || len(v) > 100 {
			form.Add(f, "staff.record_new.error_"+f)
		}
	}
	if v := form.Values["date_of_birth"]; v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil || d.After(time.Now()) {
			form.Add("date_of_birth", "staff.record_new.error_date_of_birth")
		} else {
			r.DateOfBirth = &d
		}
	}
	return r
}
