package staff

import (
	"time"

	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/web"
)

// StaffRow is one member of staff in the admin's list.
type StaffRow struct {
	ID                         int64
	Name, Email, RoleKey, Team string
	StatusKey                  string
	LastSignIn                 *time.Time
	Active                     bool
}

// RoleOption is one of the "Role" radios.
type RoleOption struct{ Value, LabelKey, HintKey string }

// StaffView is the list of staff and the "Add a member of staff" form.
type StaffView struct {
	Staff []StaffRow
	Roles []RoleOption
	Teams []records.Team
}

// staffFields are the form's fields, in the page's order.
var staffFields = []string{"email", "given_name", "family_name", "staff_role", "team"}

// adminStaff lists the staff, above "Add a member of staff".
func (h *Handler) adminStaff(c *fiber.Ctx) error {
	return h.staffPage(c, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) staffPage(c *fiber.Ctx, form *web.Form, status int) error {
	staff, err := h.People.Staff(c.UserContext())
	if err != nil {
		return err
	}
	teams, err := h.Records.Teams(c.UserContext())
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	v := StaffView{Teams: teams}
	for _, r := range accounts.StaffRoles {
		v.Roles = append(v.Roles, RoleOption{Value: r, LabelKey: "staff.admin.roles." + r, HintKey: "staff.admin.staff.hints." + r})
	}
	for i := range staff {
		p := &staff[i]
		row := StaffRow{ID: p.ID, Name: p.FullName(), Email: p.Email, RoleKey: roleKey(p),
			StatusKey: statusKey(p), LastSignIn: p.LastSignInAt, Active: p.Status == accounts.StatusActive}
		if p.TeamID != nil {
			row.Team = names[*p.TeamID]
		}
		v.Staff = append(v.Staff, row)
	}
	return h.page(c, web.Page{Template: "staff/admin_staff", Title: "staff.admin.staff.title", Data: v,
		Form: form, Status: status})
}

// adminStaffCreate is "Add member of staff": an account with no password,
// and an email telling its holder to set one with "Forgot your password?".
func (h *Handler) adminStaffCreate(c *fiber.Ctx) error {
	form := web.NewForm()
	for _, f := range staffFields {
		form.Values[f] = strings.TrimSpace(c.FormValue(f))
	}
	n := accounts.NewStaff{Email: form.Values["email"], GivenName: form.Values["given_name"],
		FamilyName: form.Values["family_name"], StaffRole: form.Values["staff_role"]}
	known, err := h.chosenTeam(c, form.Values["team"], &n)
	if err != nil {
		return err
	}
	for _, e := range n.Check() {
		form.Add(e.Field, e.Key)
	}
	if !known && form.Error("team") == "" {
		form.Add("team", "staff.admin.staff.error_team")
	}
	if form.Valid() {
		p, err := h.People.CreateStaff(c.UserContext(), n)
		if !errors.Is(err, accounts.ErrEmailTaken) {
			if err != nil {
				return err
			}
			return h.staffCreated(c, p)
		}
		form.Add("email", "staff.admin.staff.error_taken")
	}
	return h.staffPage(c, form, fiber.StatusUnprocessableEntity)
}

// chosenTeam puts the team the form names on n, reporting whether it is
// a team that exists (no team at all counts as known).
func (h *Handler) chosenTeam(c *fiber.Ctx, value string, n *accounts.NewStaff) (bool, error) {
	if value == "" {
		return true, nil
	}
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return false, nil
	}
	n.TeamID = &id
	if _, err := h.Records.Team(c.UserContext(), id); errors.Is(err, records.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// staffCreated tells the new member of staff, audits and goes back to the list.
func (h *Handler) staffCreated(c *fiber.Ctx, p *accounts.Person) error {
	// Security: the email names no one; the link is BASE_URL's own page.
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_staff_account", Data: map[string]string{"Link": h.Render.Path("auth.reset")}}); err != nil {
		return err
	}
	if err := h.audit(c, "staff.created", 0, personTarget(p)); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.admin.staff.created"); err != nil {
		return err
	}
	return redirectTo(c, "staff.admin.staff", nil)
}
