package invitations

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/web"
)

// Handler serves the invited person's side: the emailed link and
// "Account setup".
type Handler struct{ Deps }

// Deps are what the invited person's side works with.
type Deps struct {
	Render *web.Renderer
	Store  *Store
	People *accounts.Store
	Audit  *audit.Log
}

// NewHandler returns the invited person's handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// MountPublic adds the link's routes, which anyone may open.
func (h *Handler) MountPublic(r fiber.Router) {
	r.Get("/invitations/accept", h.acceptLink).Name("invitations.accept")
}

// MountSignedIn adds "Account setup".
func (h *Handler) MountSignedIn(r fiber.Router) {
	r.Get("/account/setup", h.setupForm).Name("invitations.setup")
	r.Post("/account/setup", h.setupConfirm).Name("invitations.setup.confirm")
	r.Post("/account/setup/submit", h.setupSubmit).Name("invitations.setup.submit")
	r.Get("/account/setup/done", h.setupDone).Name("invitations.setup.done")
}

// Pending reports whether personID has invitations waiting at Account
// setup (access.Handler.Pending).
func (h *Handler) Pending(c *fiber.Ctx, personID int64) (bool, error) {
	p, err := h.People.Get(c.UserContext(), personID)
	if err != nil {
		return false, err
	}
	list, err := h.Store.PendingFor(c.UserContext(), p.Email)
	return len(list) > 0, err
}

// acceptLink is the link in "Accept Children's Services Online Account
// Invitation". It takes the token out of the address bar at once (a 303 to
// a page without it) and says what to do next: sign in, or sign up, with
// the invited address. Account setup then shows every invitation for the
// signed-in address; the token is spent when one is accepted.
func (h *Handler) acceptLink(c *fiber.Ctx) error {
	token := c.Query("token")
	if token == "" {
		return h.Render.Render(c, web.Page{Template: "invitations/accept", Title: "invitations.accept.title",
			Data: c.Query("link") != "expired"})
	}
	target := h.Render.Path("invitations.accept")
	if _, err := h.Store.ByToken(c.UserContext(), token); err != nil {
		target += "?link=expired"
	} else if web.CurrentSession(c).SignedIn() {
		target = h.Render.Path("invitations.setup")
	}
	// Security: the token leaves the address bar and the history at once.
	c.Set("Referrer-Policy", "no-referrer")
	return c.Redirect(target, fiber.StatusSeeOther)
}

// SetupView is Account setup: the invitations waiting, and what was chosen.
type SetupView struct {
	Invitations []Invitation
	Ticked      map[string]bool // "invitation:record"
	Confirming  bool            // the confirmation dialog is showing
	Yes         bool
}

func (h *Handler) setupPage(c *fiber.Ctx, v SetupView, form *web.Form, status int) error {
	return h.Render.Render(c, web.Page{Template: "invitations/setup", Title: "invitations.setup.title", Data: v,
		Form: form, Status: status})
}

func (h *Handler) pending(c *fiber.Ctx) (*accounts.Person, []Invitation, error) {
	p, err := h.People.Actor(c)
	if err != nil {
		return nil, nil, err
	}
	list, err := h.Store.PendingFor(c.UserContext(), p.Email)
	return p, list, err
}

// setupForm is "Account setup" (guide 000 step 13, 001 "Account setup").
func (h *Handler) setupForm(c *fiber.Ctx) error {
	_, list, err := h.pending(c)
	if err != nil {
		return err
	}
	return h.setupPage(c, SetupView{Invitations: list, Ticked: map[string]bool{}}, web.NewForm(), fiber.StatusOK)
}

// setupConfirm is "Confirm": with valid answers it shows the confirmation
// dialog, whose "Submit" posts the same answers to setupSubmit.
func (h *Handler) setupConfirm(c *fiber.Ctx) error {
	_, list, err := h.pending(c)
	if err != nil {
		return err
	}
	v, form := bindSetup(c, list)
	status := fiber.StatusOK
	if !form.Valid() {
		status = fiber.StatusUnprocessableEntity
	} else {
		v.Confirming = true
	}
	return h.setupPage(c, v, form, status)
}

// setupSubmit is the dialog's "Submit": the invitations become accepted
// (or declined), for the worker to activate.
func (h *Handler) setupSubmit(c *fiber.Ctx) error {
	p, list, err := h.pending(c)
	if err != nil {
		return err
	}
	v, form := bindSetup(c, list)
	if !form.Valid() {
		return h.setupPage(c, v, form, fiber.StatusUnprocessableEntity)
	}
	action := "invitation.declined"
	if v.Yes {
		choice := Choice{}
		for key := range v.Ticked {
			inv, rec, _ := strings.Cut(key, ":")
			i, _ := strconv.ParseInt(inv, 10, 64)
			r, _ := strconv.ParseInt(rec, 10, 64)
			choice[i] = append(choice[i], r)
		}
		if _, err := h.Store.Accept(c.UserContext(), p.ID, p.Email, choice); err != nil {
			return err
		}
		action = "invitation.accepted"
	} else if err := h.Store.Decline(c.UserContext(), p.ID, p.Email); err != nil {
		return err
	}
	for _, inv := range list {
		id := strconv.FormatInt(inv.ID, 10)
		anyTicked := false
		for _, it := range inv.Records {
			anyTicked = anyTicked || v.Ticked[id+":"+strconv.FormatInt(it.RecordID, 10)]
		}
		for _, it := range inv.Records {
			// What happened to this record: accepted only if ticked; an
			// invitation with nothing ticked was declined (Store.Accept).
			what := action
			if v.Yes && !v.Ticked[id+":"+strconv.FormatInt(it.RecordID, 10)] {
				if what = "invitation.declined"; anyTicked {
					continue // not chosen, but the invitation itself was accepted
				}
			}
			rid := it.RecordID
			if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p.ID, Action: what, RecordID: &rid,
				Target: "invitation:" + id})); err != nil {
				return err
			}
		}
	}
	return web.Redirect(c, h.Render.Path("invitations.setup.done")+"?answer="+map[bool]string{true: "yes", false: "no"}[v.Yes])
}

// setupDone says what happens next.
func (h *Handler) setupDone(c *fiber.Ctx) error {
	return h.Render.Render(c, web.Page{Template: "invitations/done", Title: "invitations.done.title",
		Data: c.Query("answer") != "no"})
}

// bindSetup reads Account setup's answers, keeping only records of the
// person's own pending invitations, and checks them.
func bindSetup(c *fiber.Ctx, list []Invitation) (SetupView, *web.Form) {
	v := SetupView{Invitations: list, Ticked: map[string]bool{}}
	form := web.NewForm()
	form.Values["continue"] = c.FormValue("continue")
	form.Values["privacy"] = c.FormValue("privacy")
	offered := map[string]bool{}
	for _, inv := range list {
		for _, it := range inv.Records {
			offered[strconv.FormatInt(inv.ID, 10)+":"+strconv.FormatInt(it.RecordID, 10)] = true
		}
	}
	for _, raw := range c.Request().PostArgs().PeekMulti("records") {
		if key := string(raw); offered[key] { // Security: only what was offered to this person
			v.Ticked[key] = true
		}
	}
	switch form.Values["continue"] {
	case "yes":
		v.Yes = true
		if len(v.Ticked) == 0 {
			form.Add("records", "invitations.setup.error_records")
		}
		if form.Values["privacy"] != "yes" {
			form.Add("privacy", "invitations.setup.error_privacy")
		}
	case "no":
	default:
		form.Add("continue", "invitations.setup.error_continue")
	}
	if len(list) == 0 {
		form.Add("continue", "invitations.setup.none")
	}
	return v, form
}
