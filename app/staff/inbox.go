package staff

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/attachments"
	"portal/app/forms"
	"portal/app/messages"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/web"
	"portal/storage"
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

// ThreadView is one page of a thread for the team.
type ThreadView struct {
	Thread   *messages.InboxThread
	Type     messages.Type
	Messages []messages.Posted
	Readable map[int64]forms.Summary // form messages as questions and answers
	Team     []accounts.Person
	// Before is the page's ?before= (0: the newest page, with Reply);
	// Older is the ?before= of the page before it (0: none).
	Before, Older int64
	Links         messages.FileLinks // the staff's addresses of its files
	// MaxFiles and MaxMB are the limits on a reply's files.
	MaxFiles, MaxMB int
}

// Items are the thread's messages for the message partial.
func (v ThreadView) Items(view *web.View) []messages.MessageView {
	return messages.Views(view, v.Messages, v.Readable, v.Links)
}

// AssignedID is who the thread is assigned to, or 0.
func (v ThreadView) AssignedID() int64 {
	if v.Thread.AssignedTo == nil {
		return 0
	}
	return *v.Thread.AssignedTo
}

// teamThread loads the URL's thread if it was routed to the actor's team.
func (h *Handler) loadThread(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("thread"), 10, 64)
	if err != nil {
		return web.NotFound()
	}
	th, err := h.Messages.InboxThread(c.UserContext(), *actor(c).TeamID, id)
	if err != nil {
		return err
	}
	c.Locals(threadKey, th)
	return c.Next()
}

const threadKey = "staff.thread"

// teamThread is the thread loadThread put on the request.
func teamThread(c *fiber.Ctx) *messages.InboxThread {
	return c.Locals(threadKey).(*messages.InboxThread)
}

// inboxThread shows a thread: which holder wrote, for which record, the
// newest messages (messages.PageSize; ?before= the ones before them,
// messages.Before), Reply, Assign and Mark as handled. Reading it is
// audited; opening the newest page reads it for the team.
func (h *Handler) inboxThread(c *fiber.Ctx) error {
	th := teamThread(c)
	before, err := messages.Before(c)
	if err != nil {
		return err
	}
	if before == 0 {
		if err := h.Messages.ReadByTeam(c.UserContext(), &th.Thread); err != nil {
			return err
		}
	}
	if err := h.audit(c, "message.read", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	return h.threadPage(c, th, before, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) threadPage(c *fiber.Ctx, th *messages.InboxThread, before int64, form *web.Form, status int) error {
	v := ThreadView{Thread: th, Before: before, Links: messages.LinksTo(h.Render, "staff.inbox.file", "staff.inbox.file_thumb", th.ID),
		MaxFiles: attachments.MaxFiles, MaxMB: attachments.MaxSize >> 20}
	var err error
	if v.Messages, v.Older, err = h.Messages.Messages(c.UserContext(), &th.Thread, before); err != nil {
		return err
	}
	if err := h.Messages.Files(c.UserContext(), &th.Thread, v.Messages); err != nil {
		return err
	}
	if v.Readable, err = messages.Readable(c.UserContext(), h.Forms, h.Render.Localizer(c), v.Messages); err != nil {
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

// inboxReply answers the holder, with any files; they are emailed "You
// have a new message".
func (h *Handler) inboxReply(c *fiber.Ctx) error {
	th := teamThread(c)
	post, err := messages.ReadPost(c, h.Scanner)
	defer post.Close()
	if err != nil {
		return err
	}
	d := messages.Draft{Body: strings.ReplaceAll(post.Values.Get("body"), "\r\n", "\n")}
	form := post.Form
	messages.Check(form, &d, false)
	form.Values["body"] = d.Body
	if !form.Valid() {
		return h.threadPage(c, th, 0, form, post.Failed())
	}
	m := &messages.Message{AuthorID: actor(c).ID, FromStaff: true, Body: d.Body, Files: post.Files}
	if key := web.RequestKey(c); key != "" {
		m.RequestKey = &key
	}
	if err := h.Messages.Reply(c.UserContext(), &th.Thread, m); err != nil {
		if errors.Is(err, messages.ErrAlreadySent) {
			// Made by this request before, its answer lost: answered as then.
			return web.Redirect(c, h.Render.Path("staff.inbox.thread", th.ID))
		}
		if errors.Is(err, storage.ErrUnavailable) {
			// Storage is down: nothing was sent; the words stay in the form.
			form.Add(messages.FilesField, "errors.storage.upload_message")
			return h.threadPage(c, th, 0, form, fiber.StatusServiceUnavailable)
		}
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
		Template: "email_new_message", Data: map[string]string{"Link": h.Render.Path("auth.sign_in")}}); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.inbox.replied"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.inbox.thread", th.ID))
}

// inboxAssign gives the thread to a worker of the team (or nobody).
func (h *Handler) inboxAssign(c *fiber.Ctx) error {
	th := teamThread(c)
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
	return web.Redirect(c, h.Render.Path("staff.inbox.thread", th.ID))
}

// inboxHandled marks the thread handled (or open again).
func (h *Handler) inboxHandled(c *fiber.Ctx) error {
	th := teamThread(c)
	handled := c.FormValue("handled") != "no"
	if err := h.Messages.SetHandled(c.UserContext(), &th.Thread, handled); err != nil {
		return err
	}
	if err := h.audit(c, "message.handled", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	if handled {
		return web.Redirect(c, h.Render.Path("staff.inbox"))
	}
	return web.Redirect(c, h.Render.Path("staff.inbox.thread", th.ID))
}

// ThreadNewView is "Send a message" from a record: to one of its holders.
type ThreadNewView struct {
	Record  *records.Record
	Holders []access.Holder
	Types   []messages.Type
}

// threadNew is "Send a message" on a record.
func (h *Handler) threadNew(c *fiber.Ctx) error {
	r := teamRecord(c)
	return h.threadNewPage(c, r, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) threadNewPage(c *fiber.Ctx, r *records.Record, form *web.Form, status int) error {
	v := ThreadNewView{Record: r}
	var err error
	if v.Holders, err = h.holdersInForce(c, r.ID); err != nil {
		return err
	}
	if v.Types, err = h.Messages.Types(c.UserContext(), true); err != nil {
		return err
	}
	return h.page(c, web.Page{Template: "staff/thread_new", Title: "staff.inbox.new", Data: v, Form: form, Status: status})
}

// threadStart begins a thread with the chosen holder; it lives in the
// worker's team's inbox, and the holder is emailed.
func (h *Handler) threadStart(c *fiber.Ctx) error {
	r := teamRecord(c)
	form := web.NewForm()
	for _, f := range []string{"holder", "type", "subject", "body"} {
		form.Values[f] = strings.TrimSpace(strings.ReplaceAll(c.FormValue(f), "\r\n", "\n"))
	}
	holders, err := h.holdersInForce(c, r.ID)
	if err != nil {
		return err
	}
	holder, _ := strconv.ParseInt(form.Values["holder"], 10, 64)
	if !slices.ContainsFunc(holders, func(x access.Holder) bool { return x.PersonID == holder }) {
		form.Add("holder", "staff.inbox.error_holder")
	}
	typeID, _ := strconv.ParseInt(form.Values["type"], 10, 64)
	if _, err := h.Messages.TypeByID(c.UserContext(), typeID); err != nil {
		form.Add("type", "messages.new.error_type")
	}
	d := messages.Draft{Subject: form.Values["subject"], Body: form.Values["body"]}
	messages.Check(form, &d, true)
	if !form.Valid() {
		return h.threadNewPage(c, r, form, fiber.StatusUnprocessableEntity)
	}
	th := &messages.Thread{RecordID: r.ID, HolderID: holder, TypeID: typeID, TeamID: *actor(c).TeamID,
		Subject: d.Subject, StartedBy: actor(c).ID}
	if err := h.Messages.Start(c.UserContext(), th, &messages.Message{AuthorID: actor(c).ID, FromStaff: true, Body: d.Body}); err != nil {
		return err
	}
	if err := h.audit(c, "message.sent", r.ID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	if err := h.notify(c, []access.Holder{{PersonID: holder}}, "email_new_message"); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "staff.inbox.replied"); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("staff.inbox.thread", th.ID))
}

// inboxFile sends one of the thread's files, as a download; inboxFileThumb
// a photo's thumbnail. The thread loader found the thread for the team.
func (h *Handler) inboxFile(c *fiber.Ctx) error { return h.teamFile(c, false) }

func (h *Handler) inboxFileThumb(c *fiber.Ctx) error { return h.teamFile(c, true) }

func (h *Handler) teamFile(c *fiber.Ctx, thumb bool) error {
	th := teamThread(c)
	return messages.SendAttachment(c, h.Files, th.ID, 0, thumb, func(a *attachments.Attachment) error {
		return h.audit(c, "message.file_opened", th.RecordID, "attachment:"+itoa(a.ID))
	})
}
