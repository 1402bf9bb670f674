package staff

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/messages"
	"portal/app/notify"
	"portal/app/web"
)

// inboxFilters are the inbox's views, in the order its links show them.
var inboxFilters = []string{messages.InboxOpen, messages.InboxMine, messages.InboxHandled}

// InboxView is the team's inbox.
type InboxView struct {
	Filter  string
	Filters []string
	Threads []messages.InboxThread
	Types   map[int64]messages.Type
}

// inbox lists the threads routed to the actor's team: open, assigned to
// the actor, or handled.
func (h *Handler) inbox(c *fiber.Ctx) error {
	filter := c.Query("show", messages.InboxOpen)
	if !slices.Contains(inboxFilters, filter) {
		filter = messages.InboxOpen
	}
	threads, err := h.Messages.ForTeam(c.UserContext(), *actor(c).TeamID, actor(c).ID, filter)
	if err != nil {
		return err
	}
	types, err := h.messageTypes(c)
	if err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/inbox", Title: "staff.inbox.title", Data: InboxView{Filter: filter, Filters: inboxFilters, Threads: threads, Types: types}})
}

func (h *Handler) messageTypes(c *fiber.Ctx) (map[int64]messages.Type, error) {
	all, err := h.Messages.Types(c.UserContext(), false)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]messages.Type, len(all))
	for _, t := range all {
		out[t.ID] = t
	}
	return out, nil
}

// ThreadView is one thread for the team.
type ThreadView struct {
	Thread   *messages.InboxThread
	Type     messages.Type
	Messages []messages.Posted
	Team     []accounts.Person
}

// AssignedID is who the thread is assigned to, or 0.
func (v ThreadView) AssignedID() int64 {
	if v.Thread.AssignedTo == nil {
		return 0
	}
	return *v.Thread.AssignedTo
}

// teamThread loads the URL's thread if it was routed to the actor's team.
func (h *Handler) teamThread(c *fiber.Ctx) (*messages.InboxThread, error) {
	id, err := strconv.ParseInt(c.Params("thread"), 10, 64)
	if err != nil {
		return nil, web.NotFound()
	}
	th, err := h.Messages.InboxThread(c.UserContext(), *actor(c).TeamID, id)
	if errors.Is(err, messages.ErrNotFound) {
		return nil, web.NotFound()
	}
	return th, err
}

// inboxThread shows a thread: which holder wrote, for which record, every
// message, Reply, Assign and Mark as handled. Reading it is audited.
func (h *Handler) inboxThread(c *fiber.Ctx) error {
	th, err := h.teamThread(c)
	if err != nil {
		return err
	}
	if err := h.Messages.ReadByTeam(c.UserContext(), &th.Thread); err != nil {
		return err
	}
	if err := h.audit(c, "message.read", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	return h.threadPage(c, th, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) threadPage(c *fiber.Ctx, th *messages.InboxThread, form *web.Form, status int) error {
	v := ThreadView{Thread: th}
	var err error
	if v.Messages, err = h.Messages.Messages(c.UserContext(), &th.Thread); err != nil {
		return err
	}
	if v.Team, err = h.People.TeamMembers(c.UserContext(), th.TeamID); err != nil {
		return err
	}
	types, err := h.messageTypes(c)
	if err != nil {
		return err
	}
	v.Type = types[th.TypeID]
	return h.page(c, web.Page{Template: "staff/thread", Title: "staff.inbox.thread", Data: v, Form: form, Status: status})
}

// inboxReply answers the holder; they are emailed "You have a new message".
func (h *Handler) inboxReply(c *fiber.Ctx) error {
	th, err := h.teamThread(c)
	if err != nil {
		return err
	}
	body := strings.TrimSpace(strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n"))
	form := web.NewForm()
	form.Values["body"] = body
	if body == "" {
		form.Add("body", "messages.new.error_body")
	} else if len([]rune(body)) > messages.BodyMax {
		form.AddArgs("body", "messages.new.error_body_long", "Max", "50,000")
	}
	if !form.Valid() {
		return h.threadPage(c, th, form, fiber.StatusUnprocessableEntity)
	}
	if err := h.Messages.Reply(c.UserContext(), &th.Thread, &messages.Message{AuthorID: actor(c).ID, FromStaff: true, Body: body}); err != nil {
		return err
	}
	if err := h.audit(c, "message.sent", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	holder, err := h.People.Get(c.UserContext(), th.HolderID)
	if err != nil {
		return err
	}
	if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: holder.Email, Lang: holder.Locale,
		Template: "email_new_message", Data: map[string]string{"Link": "/sign-in"}}); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.inbox.replied"); err != nil {
		return err
	}
	return web.Redirect(c, "/staff/inbox/"+itoa(th.ID))
}

// inboxAssign gives the thread to a worker of the team (or nobody).
func (h *Handler) inboxAssign(c *fiber.Ctx) error {
	th, err := h.teamThread(c)
	if err != nil {
		return err
	}
	to, _ := strconv.ParseInt(c.FormValue("worker"), 10, 64)
	if to != 0 {
		team, err := h.People.TeamMembers(c.UserContext(), th.TeamID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(team, func(p accounts.Person) bool { return p.ID == to }) {
			return web.BadRequest("errors.bad_request.body")
		}
	}
	if err := h.Messages.Assign(c.UserContext(), &th.Thread, to); err != nil {
		return err
	}
	if err := h.audit(c, "message.assigned", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	return web.Redirect(c, "/staff/inbox/"+itoa(th.ID))
}

// inboxHandled marks the thread handled (or open again).
func (h *Handler) inboxHandled(c *fiber.Ctx) error {
	th, err := h.teamThread(c)
	if err != nil {
		return err
	}
	handled := c.FormValue("handled") != "no"
	if err := h.Messages.SetHandled(c.UserContext(), &th.Thread, handled); err != nil {
		return err
	}
	if err := h.audit(c, "message.handled", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	if handled {
		return web.Redirect(c, "/staff/inbox")
	}
	return web.Redirect(c, "/staff/inbox/"+itoa(th.ID))
}
