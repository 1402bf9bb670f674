package staff

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/auth"
	"portal/app/export"
	"portal/app/web"
)

// PersonView is the admin's page of one account. Security: no record,
// not even a name: how many records the person holds is a count of grants.
type PersonView struct {
	ID                              int64
	Name, Email, RoleKey, StatusKey string
	Team, PhoneHint                 string
	LastSignIn                      *time.Time
	PhoneRemoved                    bool // removed by staff, no new number yet
	Active, Self                    bool
	Records, Invitations            int64
	ReenrolHours                    int
	Exports                         []export.Export // the ones this admin made of the person
}

// CanRemovePhone says whether "Remove phone number" has something to do:
// a number, or one removed whose holder may need the 72 hours again.
func (v PersonView) CanRemovePhone() bool { return !v.Self && (v.PhoneHint != "" || v.PhoneRemoved) }

// adminPerson is the page of one person, citizen or staff, with the
// account's actions.
func (h *Handler) adminPerson(c *fiber.Ctx) error {
	p, err := h.personOf(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	held, err := h.Access.GrantCount(ctx, p.ID)
	if err != nil {
		return err
	}
	invited, err := h.Invitations.PendingCount(ctx, p.ID, p.Email)
	if err != nil {
		return err
	}
	v := PersonView{ID: p.ID, Name: p.FullName(), Email: p.Email, RoleKey: roleKey(p), StatusKey: statusKey(p),
		LastSignIn: p.LastSignInAt, PhoneHint: p.PhoneHint, PhoneRemoved: p.PhoneHint == "" && p.PhoneRemovedAt != nil,
		Active: p.Status == accounts.StatusActive, Self: p.ID == actor(c).ID, Records: held, Invitations: invited,
		ReenrolHours: int(auth.ReenrolWindow.Hours())}
	if v.Exports, err = h.Exports.Service.Store.List(ctx, p.ID, actor(c).ID); err != nil {
		return err
	}
	if p.TeamID != nil {
		t, err := h.Records.Team(ctx, *p.TeamID)
		if err != nil {
			return err
		}
		v.Team = t.Name
	}
	return h.page(c, web.Page{Template: "staff/admin_person", Title: "staff.admin.person.title", Data: v})
}

// personOf loads the person the path names; a bad or unknown id is a 404.
func (h *Handler) personOf(c *fiber.Ctx) (*accounts.Person, error) {
	id, err := c.ParamsInt("id")
	if err != nil || id <= 0 {
		return nil, web.NotFound()
	}
	p, err := h.People.Get(c.UserContext(), int64(id))
	return p, err
}
