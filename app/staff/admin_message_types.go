package staff

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portal/app/forms"
	"portal/app/messages"
	"portal/app/records"
	"portal/app/web"
)

// MessageTypesView is the admin's list of message types, with the form to
// add or change one.
type MessageTypesView struct {
	Types   []messages.Type
	Teams   []records.Team
	Forms   []forms.Template // the templates a type can be
	Editing int64            // the type the form changes; 0 adds one
}

// FormName is the title of template key in lang, as admins know it (the
// key itself only if no such template is stored).
func (v MessageTypesView) FormName(key, lang string) string {
	for _, t := range v.Forms {
		if t.Key == key {
			return t.Title.In(lang)
		}
	}
	return key
}

// TeamName is team id's name.
func (v MessageTypesView) TeamName(id int64) string {
	for _, t := range v.Teams {
		if t.ID == id {
			return t.Name
		}
	}
	return ""
}

// adminMessageTypes lists the message types and who receives each.
func (h *Handler) adminMessageTypes(c *fiber.Ctx) error {
	form := web.NewForm()
	var editing int64
	if id, err := strconv.ParseInt(c.Query("edit"), 10, 64); err == nil {
		types, err := h.Messages.Types(c.UserContext(), false)
		if err != nil {
			return err
		}
		for _, t := range types {
			if t.ID == id {
				editing = id
				fillTypeForm(form, t)
			}
		}
	}
	if editing == 0 {
		form.Values["active"] = "yes"
	}
	return h.messageTypesPage(c, form, editing, fiber.StatusOK)
}

func fillTypeForm(form *web.Form, t messages.Type) {
	form.Values["name_en"], form.Values["name_cy"] = t.NameEN, t.NameCY
	form.Values["team"] = strconv.FormatInt(t.TeamID, 10)
	form.Values["position"] = strconv.Itoa(t.Position)
	if t.FormKey != nil {
		form.Values["form"] = *t.FormKey
	}
	if t.NameWorker {
		form.Values["name_worker"] = "yes"
	}
	if t.Active {
		form.Values["active"] = "yes"
	}
}

func (h *Handler) messageTypesPage(c *fiber.Ctx, form *web.Form, editing int64, status int) error {
	v := MessageTypesView{Editing: editing}
	var err error
	if v.Types, err = h.Messages.Types(c.UserContext(), false); err != nil {
		return err
	}
	if v.Teams, err = h.Records.Teams(c.UserContext()); err != nil {
		return err
	}
	if v.Forms, err = h.Forms.Latest(c.UserContext()); err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/admin_message_types", Title: "staff.admin.types.title", Data: v,
		Form: form, Status: status})
}

// adminMessageTypeSave adds a message type, or changes the one named by
// the form's id.
func (h *Handler) adminMessageTypeSave(c *fiber.Ctx) error {
	form := web.NewForm()
	for _, f := range []string{"name_en", "name_cy", "team", "form", "name_worker", "active", "position"} {
		form.Values[f] = strings.TrimSpace(c.FormValue(f))
	}
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	t := messages.Type{ID: id, NameEN: form.Values["name_en"], NameCY: form.Values["name_cy"],
		NameWorker: form.Values["name_worker"] == "yes", Active: form.Values["active"] == "yes"}
	for _, f := range []string{"name_en", "name_cy"} {
		if n := utf8.RuneCountInString(form.Values[f]); n == 0 || n > 80 {
			form.Add(f, "staff.admin.types.error_"+f)
		}
	}
	teams, err := h.Records.Teams(c.UserContext())
	if err != nil {
		return err
	}
	t.TeamID, _ = strconv.ParseInt(form.Values["team"], 10, 64)
	if (MessageTypesView{Teams: teams}).TeamName(t.TeamID) == "" {
		form.Add("team", "staff.admin.types.error_team")
	}
	if key := form.Values["form"]; key != "" {
		latest, err := h.Forms.Latest(c.UserContext())
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(latest, func(f forms.Template) bool { return f.Key == key }) {
			form.Add("form", "staff.admin.types.error_form")
		}
		t.FormKey = &key
	}
	t.Position, _ = strconv.Atoi(form.Values["position"])
	if !form.Valid() {
		return h.messageTypesPage(c, form, id, fiber.StatusUnprocessableEntity)
	}
	if err := h.Messages.SaveType(c.UserContext(), &t); err != nil {
		return err
	}
	if err := h.audit(c, "message_type.saved", 0, "message_type:"+itoa(t.ID)); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.admin.types.saved"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.admin.message_types"))
}
