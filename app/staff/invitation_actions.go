package staff

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"portal/app/invitations"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/web"
)

// loadInvitation loads the :invitation of the URL if it is the team's, and
// the record page to go back to (the form's "record", if it is one of the
// invitation's records, else its first).
func (h *Handler) loadInvitation(c *fiber.Ctx) error {
	id, err := c.ParamsInt("invitation")
	if err != nil {
		return web.NotFound()
	}
	inv, err := h.Invitations.InTeam(c.UserContext(), *actor(c).TeamID, int64(id))
	if errors.Is(err, invitations.ErrNotFound) || (err == nil && len(inv.Records) == 0) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	back, err := h.backTo(c, inv)
	if err != nil {
		return err
	}
	c.Locals(invitationKey, teamInvitationOf{inv, back})
	return c.Next()
}

const invitationKey = "staff.invitation"

type teamInvitationOf struct {
	inv  *invitations.Invitation
	back *records.Record
}

// teamInvitation is the invitation loadInvitation put on the request, and
// the record of it whose page the worker came from (the form's record),
// to go back to.
func teamInvitation(c *fiber.Ctx) (*invitations.Invitation, *records.Record) {
	t := c.Locals(invitationKey).(teamInvitationOf)
	return t.inv, t.back
}

// backTo is the record of inv the form names, else its first.
func (h *Handler) backTo(c *fiber.Ctx, inv *invitations.Invitation) (*records.Record, error) {
	back := inv.Records[0].RecordID
	for _, it := range inv.Records {
		if itoa(it.RecordID) == c.FormValue("record") {
			back = it.RecordID
		}
	}
	r, err := h.Records.InTeam(c.UserContext(), inv.TeamID, back)
	return r, err
}

// invitationConfirm is the worker entering the code the person read back,
// with the named checks, then "Confirm and send invitation": the person is
// emailed the link to accept. Each check is audited.
func (h *Handler) invitationConfirm(c *fiber.Ctx) error {
	inv, r := teamInvitation(c)
	form := web.NewForm()
	checks := invitations.Checks{Identity: c.FormValue("check_identity") == "yes",
		Responsibility: c.FormValue("check_responsibility") == "yes", Confidentiality: c.FormValue("check_confidentiality") == "yes"}
	field := "code-" + itoa(inv.ID)
	if !checks.All() {
		form.Add("checks-"+itoa(inv.ID), "staff.invitation.error_checks")
		return h.recordPage(c, r, form, inv.ID, fiber.StatusUnprocessableEntity)
	}
	remaining, err := h.Invitations.ConfirmCode(c.UserContext(), inv.TeamID, inv.ID, c.FormValue("code"), checks)
	switch {
	case errors.Is(err, invitations.ErrWrongCode):
		form.Values["remaining"] = itoa(int64(remaining))
		form.AddArgs(field, "staff.invitation.error_code", "Remaining", remaining)
		return h.recordPage(c, r, form, inv.ID, fiber.StatusUnprocessableEntity)
	case errors.Is(err, invitations.ErrVoid):
		if err := h.auditAll(c, inv, "invitation.voided"); err != nil {
			return err
		}
		form.Add(field, "staff.invitation.error_void")
		return h.recordPage(c, r, form, inv.ID, fiber.StatusUnprocessableEntity)
	case errors.Is(err, invitations.ErrNotFound):
		return web.NotFound()
	case err != nil:
		return err
	}
	for _, action := range []string{"invitation.code_confirmed", "invitation.checked_identity",
		"invitation.checked_responsibility", "invitation.checked_confidentiality"} {
		if err := h.auditAll(c, inv, action); err != nil {
			return err
		}
	}
	return h.sendInvitation(c, inv, r, "invitation.sent")
}

// sendInvitation emails the link ("Accept Children's Services Online
// Account Invitation") and goes back to the record.
func (h *Handler) sendInvitation(c *fiber.Ctx, inv *invitations.Invitation, r *records.Record, action string) error {
	token, err := h.Invitations.Send(c.UserContext(), inv.TeamID, inv.ID)
	if err != nil {
		return err
	}
	if err := h.emailInvited(c, inv, notify.Message{Template: "email_invitation",
		Data: map[string]string{"Link": h.Render.Path("invitations.accept") + "?token=" + token}}); err != nil {
		return err
	}
	if err := h.auditAll(c, inv, action); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.invitation.sent"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID))
}

// invitationResend sends the code again while the person has not read it
// back, or the link again once it was sent (each with 14 more days).
func (h *Handler) invitationResend(c *fiber.Ctx) error {
	inv, r := teamInvitation(c)
	switch inv.State {
	case invitations.InvitationSent, invitations.CodeConfirmed: // confirmed, but the link never went
		return h.sendInvitation(c, inv, r, "invitation.resent")
	case invitations.CodeSent:
		_, code, err := h.Invitations.NewCodeFor(c.UserContext(), inv.TeamID, inv.ID)
		if err != nil {
			return err
		}
		if err := h.emailInvited(c, inv, notify.Message{Template: "email_invitation_code", Data: map[string]string{"Code": code}}); err != nil {
			return err
		}
		if err := h.auditAll(c, inv, "invitation.code_resent"); err != nil {
			return err
		}
		if err := h.Sessions.AddFlash(c, "success", "staff.invite.sent"); err != nil {
			return err
		}
		return web.Redirect(c, h.Render.Path("staff.record", r.ID))
	}
	return web.NotFound()
}

// invitationWithdraw ends an invitation that is not active yet.
func (h *Handler) invitationWithdraw(c *fiber.Ctx) error {
	inv, r := teamInvitation(c)
	if err := h.Invitations.Withdraw(c.UserContext(), inv.TeamID, inv.ID); errors.Is(err, invitations.ErrNotFound) {
		return web.NotFound()
	} else if err != nil {
		return err
	}
	if err := h.auditAll(c, inv, "invitation.withdrawn"); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.invitation.withdrawn"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.record", r.ID))
}

// auditAll writes action on every record of the invitation.
func (h *Handler) auditAll(c *fiber.Ctx, inv *invitations.Invitation, action string) error {
	for _, it := range inv.Records {
		if err := h.audit(c, action, it.RecordID, "invitation:"+itoa(inv.ID)); err != nil {
			return err
		}
	}
	return nil
}
