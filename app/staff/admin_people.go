package staff

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// peopleLimit is the most people one search shows.
const peopleLimit = 50

// PersonRow is one person found by the admin's search.
type PersonRow struct {
	ID                              int64
	Name, Email, RoleKey, StatusKey string
}

// PeopleView is the search and what it found.
type PeopleView struct {
	Searched bool
	People   []PersonRow
	Limited  bool // as many as peopleLimit: there may be more
	Limit    int
}

// adminPeople finds accounts, citizens' and staff's, by email address or
// name (?q=). An empty search lists no one.
func (h *Handler) adminPeople(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	found, err := h.People.Search(c.UserContext(), q, peopleLimit)
	if err != nil {
		return err
	}
	v := PeopleView{Searched: q != "", Limited: len(found) == peopleLimit, Limit: peopleLimit}
	for i := range found {
		p := &found[i]
		v.People = append(v.People, PersonRow{ID: p.ID, Name: p.FullName(), Email: p.Email, RoleKey: roleKey(p),
			StatusKey: statusKey(p)})
	}
	form := web.NewForm()
	form.Values["q"] = q
	return h.page(c, web.Page{Template: "staff/admin_people", Title: "staff.admin.people.title", Data: v, Form: form})
}
