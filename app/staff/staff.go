// Package staff is the council's side of the portal. It uses the other
// features; nothing imports it.
//
// Invariants:
//   - Every route is mounted under the staff group (AAL2 and a staff role).
//   - Team routes (records, invitations, activation) need a worker or team
//     manager with a team, and reach only that team's records: every
//     lookup goes through records.Store.InTeam with the actor's team, and
//     anything else is the same 404 as a missing record.
//   - Admin routes (teams, staff accounts, people) need a portal admin, who
//     manages accounts but never reads record content: no admin route
//     loads a record, a document, a form or a message; they show counts.
//   - Removing a phone number and deactivating an account end every
//     session of the person at once; an admin can do neither to themselves.
//   - Only an active account reaches the staff view, whatever its session.
//   - A document goes only to the holders the worker ticked, each holding
//     the record now; nothing is ticked for them. Its file is checked by
//     content (uploads.Prepare) before anything stores it.
//   - Every change and every opening of a record writes an audit event.
//   - The audit search (admin only) is audited too: each page of results
//     and each CSV download writes an event naming its filter by ids,
//     never by email, and no record (so a record's history is unchanged).
package staff

import (
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/attachments"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/documents"
	"portal/app/export"
	"portal/app/forms"
	"portal/app/invitations"
	"portal/app/messages"
	"portal/app/notify"
	"portal/app/overview"
	"portal/app/records"
	"portal/app/seal"
	"portal/app/uploads"
	"portal/app/web"
	"portal/storage"
)

// Deps are what the staff view works with.
type Deps struct {
	DB          *gorm.DB // for transactions that span features (activation grants access)
	Render      *web.Renderer
	People      *accounts.Store
	Records     *records.Store
	Access      *access.Store
	Invitations *invitations.Store
	Documents   *documents.Store
	Forms       *forms.Store
	Messages    *messages.Store
	Files       *attachments.Store // the files messages carry
	Exports     *export.Handler    // "Download my data", made by an admin for a person
	Objects     storage.Store      // the documents' files
	Scanner     uploads.Scanner    // called on every upload before it is stored
	Audit       *audit.Log
	Sessions    *web.Sessions
	Sealer      *seal.Sealer
	Notifier    *notify.Notifier
	Overview    *overview.Store // the admin's service overview: counts only
	Clock       clock.Clock
}

// Handler serves the staff view.
type Handler struct{ Deps }

// NewHandler returns the staff handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds the staff routes to a group that already requires staff.
func (h *Handler) Mount(r fiber.Router) {
	r.Use(h.loadActor)
	r.Get("/", h.home).Name("staff.home")
	// Admin first: the team group has no prefix, so its require runs for
	// every path under /staff registered after it, /staff/admin included.
	admin := r.Group("/admin", h.require(accounts.StaffPortalAdmin))
	h.mountAdmin(admin)
	team := r.Group("", h.require(accounts.StaffWorker, accounts.StaffTeamManager))
	h.mountTeam(team)
}

// mountTeam adds the routes of workers and team managers. A route with a
// record, a thread or an invitation in its path sits in that object's
// group, whose loader finds it in the worker's team (or answers 404) and
// puts it on the request: handlers read it there (teamRecord, teamThread,
// teamInvitation) and never look it up themselves. TestEveryObjectRouteHasItsLoader
// (app) holds every route to it.
func (h *Handler) mountTeam(r fiber.Router) {
	r.Get("/records", h.recordsList).Name("staff.records")
	r.Get("/records/new", h.recordNew).Name("staff.records.new")
	r.Post("/records", h.recordCreate).Name("staff.records.create")
	r.Get("/activations", h.activationsList).Name("staff.activations")
	r.Get("/inbox", h.inbox).Name("staff.inbox")

	rec := r.Group("/records/:record<int>", h.loadRecord)
	rec.Get("", h.recordShow).Name("staff.record")
	rec.Get("/invite", h.inviteForm).Name("staff.invite")
	rec.Post("/invite", h.inviteCreate).Name("staff.invite.create")
	rec.Post("/grants/:grant<int>/placement-end", h.placementEnd).Name("staff.placement_end")
	rec.Get("/grants/:grant<int>/end", h.grantEndShow).Name("staff.grant_end")
	rec.Post("/grants/:grant<int>/end", h.grantEnd).Name("staff.grant_end.post")
	rec.Get("/messages/new", h.threadNew).Name("staff.thread.new")
	rec.Post("/messages", h.threadStart).Name("staff.thread.start")
	rec.Get("/forms/new", h.formNew).Name("staff.form.new")
	rec.Post("/forms", h.formSend).Name("staff.form.send")
	rec.Get("/forms/:form<int>", h.loadSubmission, h.formShow).Name("staff.form.show")
	rec.Get("/holders/:person<int>/recordings", h.carerRecordings).Name("staff.recordings")
	rec.Get("/holders/:person<int>/recordings/:message<int>/pdf", h.carerRecordingPDF).Name("staff.recording_pdf")
	rec.Get("/holders/:person<int>/recordings/:message<int>/files/:file<int>", h.carerRecordingFile).Name("staff.recording_file")
	rec.Get("/holders/:person<int>/recordings/:message<int>/files/:file<int>/thumb", h.carerRecordingThumb).Name("staff.recording_thumb")
	rec.Get("/documents/new", h.documentNew).Name("staff.document.new")
	// The one route with a large, streamed body.
	rec.Post("/documents", web.UploadRoute, h.documentUpload).Name("staff.document.upload")
	doc := rec.Group("/documents/:document<int>", h.loadDocument)
	doc.Get("", h.documentDownload).Name("staff.document.download")
	doc.Get("/withdraw", h.documentWithdrawConfirm).Name("staff.document.withdraw_confirm")
	doc.Post("/withdraw", h.documentWithdraw).Name("staff.document.withdraw")

	inv := r.Group("/invitations/:invitation<int>", h.loadInvitation)
	inv.Post("/confirm", h.invitationConfirm).Name("staff.invitation.confirm")
	inv.Post("/resend", h.invitationResend).Name("staff.invitation.resend")
	inv.Post("/withdraw", h.invitationWithdraw).Name("staff.invitation.withdraw")
	inv.Post("/activate", h.invitationActivate).Name("staff.invitation.activate")

	th := r.Group("/inbox/:thread<int>", h.loadThread)
	th.Get("", h.inboxThread).Name("staff.inbox.thread")
	th.Post("/reply", web.UploadRoute, h.inboxReply).Name("staff.inbox.reply")
	th.Get("/files/:file<int>", h.inboxFile).Name("staff.inbox.file")
	th.Get("/files/:file<int>/thumb", h.inboxFileThumb).Name("staff.inbox.file_thumb")
	th.Post("/assign", h.inboxAssign).Name("staff.inbox.assign")
	th.Post("/handled", h.inboxHandled).Name("staff.inbox.handled")
}

// mountAdmin adds the routes of portal admins.
func (h *Handler) mountAdmin(r fiber.Router) {
	r.Get("/", h.adminHome).Name("staff.admin")
	r.Get("/overview", h.adminOverview).Name("staff.admin.overview")
	r.Get("/teams", h.adminTeams).Name("staff.admin.teams")
	r.Get("/message-types", h.adminMessageTypes).Name("staff.admin.message_types")
	r.Post("/message-types", h.adminMessageTypeSave).Name("staff.admin.message_types.save")
	r.Post("/teams", h.adminTeamCreate).Name("staff.admin.teams.create")
	r.Get("/staff", h.adminStaff).Name("staff.admin.staff")
	r.Post("/staff", h.adminStaffCreate).Name("staff.admin.staff.create")
	r.Get("/people", h.adminPeople).Name("staff.admin.people")
	r.Get("/people/:id", h.adminPerson).Name("staff.admin.person")
	r.Post("/people/:id/remove-phone", h.adminPhoneRemove).Name("staff.admin.person.remove_phone")
	r.Post("/people/:id/export", h.adminExport).Name("staff.admin.person.export")
	r.Get("/people/:id/exports/:export<int>/download", h.adminExportDownload).Name("staff.admin.person.export_download")
	r.Post("/people/:id/deactivate", h.adminStatusSet(accounts.StatusDeactivated)).Name("staff.admin.person.deactivate")
	r.Post("/people/:id/reactivate", h.adminStatusSet(accounts.StatusActive)).Name("staff.admin.person.reactivate")
	r.Get("/audit", h.adminAudit).Name("staff.admin.audit")
	r.Get("/audit.csv", h.adminAuditCSV).Name("staff.admin.audit.csv")
}

const actorKey = "staff.actor"

// loadActor puts the signed-in member of staff on the request.
func (h *Handler) loadActor(c *fiber.Ctx) error {
	p, err := h.People.Actor(c)
	if err != nil {
		return err
	}
	// Security: deactivation ends the account's sessions; should one
	// outlive that (a request already under way), it reaches nothing here.
	if p.Status != accounts.StatusActive {
		return web.NotFound()
	}
	c.Locals(actorKey, p)
	return c.Next()
}

// actor is the signed-in member of staff.
func actor(c *fiber.Ctx) *accounts.Person { return c.Locals(actorKey).(*accounts.Person) }

// require lets through staff with one of roles (and, for team roles, a
// team); anyone else gets a 404, as if the page did not exist.
func (h *Handler) require(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a := actor(c)
		for _, r := range roles {
			if a.StaffRole == r && (r == accounts.StaffPortalAdmin || a.TeamID != nil) {
				return c.Next()
			}
		}
		return web.NotFound()
	}
}

// audit writes an event by the actor, about record recordID when not 0.
func (h *Handler) audit(c *fiber.Ctx, action string, recordID int64, target string) error {
	return h.auditTx(c, nil, action, recordID, target)
}

// auditTx is audit inside the transaction of the change it records.
func (h *Handler) auditTx(c *fiber.Ctx, tx *gorm.DB, action string, recordID int64, target string) error {
	e := web.FromRequest(c, audit.Event{ActorID: &actor(c).ID, Action: action, Target: target})
	if recordID != 0 {
		e.RecordID = &recordID
	}
	return h.Audit.Write(c.UserContext(), tx, e)
}

// page renders a staff page.
func (h *Handler) page(c *fiber.Ctx, p web.Page) error {
	p.Layout = web.LayoutStaff
	return h.Render.Render(c, p)
}

// HomeView is the staff landing page: where to go, by role.
type HomeView struct {
	Admin   bool
	Waiting int // accepted invitations of the team, waiting for activation
}

// home is the staff landing page.
func (h *Handler) home(c *fiber.Ctx) error {
	a := actor(c)
	v := HomeView{Admin: a.StaffRole == accounts.StaffPortalAdmin}
	if !v.Admin && a.TeamID != nil {
		waiting, err := h.Invitations.AwaitingActivation(c.UserContext(), *a.TeamID)
		if err != nil {
			return err
		}
		v.Waiting = len(waiting)
	}
	return h.page(c, web.Page{Template: "staff/home", Title: "staff.home.title", Data: v})
}
