package staff

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portal/app/records"
	"portal/app/web"
)

// TeamRow is one team in the admin's list. Security: counts only; an
// admin never sees the records themselves.
type TeamRow struct {
	ID             int64
	Name           string
	Staff, Records int64
}

// adminTeams lists the teams with their numbers of staff and records, above
// "Add a team".
func (h *Handler) adminTeams(c *fiber.Ctx) error {
	return h.teamsPage(c, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) teamsPage(c *fiber.Ctx, form *web.Form, status int) error {
	ctx := c.UserContext()
	teams, err := h.Records.Teams(ctx)
	if err != nil {
		return err
	}
	staff, err := h.People.StaffPerTeam(ctx)
	if err != nil {
		return err
	}
	held, err := h.Records.RecordsPerTeam(ctx)
	if err != nil {
		return err
	}
	rows := make([]TeamRow, len(teams))
	for i, t := range teams {
		rows[i] = TeamRow{ID: t.ID, Name: t.Name, Staff: staff[t.ID], Records: held[t.ID]}
	}
	return h.page(c, web.Page{Template: "staff/admin_teams", Title: "staff.admin.teams.title", Data: rows,
		Form: form, Status: status})
}

// adminTeamCreate is "Add team": a name no other team has, in any case.
func (h *Handler) adminTeamCreate(c *fiber.Ctx) error {
	form := web.NewForm()
	name := strings.TrimSpace(c.FormValue("name"))
	form.Values["name"] = name
	switch {
	case name == "":
		form.Add("name", "staff.admin.teams.error_name")
	case utf8.RuneCountInString(name) > 100:
		form.Add("name", "staff.admin.error_too_long")
	}
	if !form.Valid() {
		return h.teamsPage(c, form, fiber.StatusUnprocessableEntity)
	}
	t, err := h.Records.AddTeam(c.UserContext(), name)
	if errors.Is(err, records.ErrTeamNameTaken) {
		form.Add("name", "staff.admin.teams.error_taken")
		return h.teamsPage(c, form, fiber.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, "team.created", 0, "team:"+itoa(t.ID)); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.admin.teams.created"); err != nil {
		return err
	}
	return redirectTo(c, "staff.admin.teams", nil)
}
