package messages

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/attachments"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/live"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/uploads"
	"portal/app/web"
	"portal/storage"
)

// Deps are what the holder's message pages work with.
type Deps struct {
	Render   *web.Renderer
	Store    *Store
	Forms    *forms.Store // the templates of form message types
	People   *accounts.Store
	Audit    *audit.Log
	Sessions *web.Sessions
	Notifier *notify.Notifier
	Clock    clock.Clock
	Access   *access.Store // a live stream checks the record is still held
	Hub      *live.Hub     // live updates of open threads
	Limiter  *ratelimit.Limiter
	Files    *attachments.Store // the files messages carry
	// Counts are the dashboard's tile counts, which its live stream sends
	// again when one changes.
	Counts  map[string]access.Counter
	Scanner uploads.Scanner // checks each file before it is kept
	// RecordingsKept is how long a carer still reads the recordings they
	// sent after a placement ended (RECORDINGS_KEPT_DAYS).
	RecordingsKept time.Duration
	// Heartbeat is how often a live stream re-authorises (zero is
	// live.DefaultHeartbeat).
	Heartbeat time.Duration
}

// Limits on messages. A holder sends at most messagesPerHolder an hour
// (each message tells a whole team), and a team is emailed about a thread
// at most once a quarter of an hour, however many messages arrive in it:
// the inbox shows them all.
var (
	messagesPerHolder  = ratelimit.Rule{Name: "message:person", Max: 20, Window: time.Hour}
	teamEmailPerThread = ratelimit.Rule{Name: "message:team_email", Max: 1, Window: 15 * time.Minute}
)

// Handler serves "New messages" to a record's holders.
type Handler struct{ Deps }

// NewHandler returns the holder's messages handler.
func NewHandler(d Deps) *Handler { return &Handler{Deps: d} }

// Mount adds the messages pages to the group of a record's pages, which
// lets through only a holder of the record.
// MountAccount adds the person's own pages that are not a record's:
// "Recordings I have sent".
func (h *Handler) MountAccount(r fiber.Router) {
	r.Get("/account/recordings", h.recordingsList).Name("messages.recordings")
	r.Get("/account/recordings/:message<int>/pdf", h.recordingPDF).Name("messages.recording_pdf")
	r.Get("/account/recordings/:message<int>/files/:file<int>", h.recordingFile).Name("messages.recording_file")
	r.Get("/account/recordings/:message<int>/files/:file<int>/thumb", h.recordingThumb).Name("messages.recording_thumb")
}

func (h *Handler) Mount(rec fiber.Router) {
	rec.Get("/messages", h.list).Name("messages.list")
	rec.Get("/messages/new", h.newShow).Name("messages.new")
	rec.Post("/messages/new", web.UploadRoute, h.send).Name("messages.send")
	rec.Post("/messages/draft", web.LateDraft, h.draftNew).Name("messages.draft")
	rec.Get("/messages/:thread<int>", h.threadShow).Name("messages.thread")
	rec.Post("/messages/:thread<int>", web.UploadRoute, h.reply).Name("messages.reply")
	rec.Get("/messages/:thread<int>/files/:file<int>", h.file).Name("messages.file")
	rec.Get("/messages/:thread<int>/files/:file<int>/thumb", h.fileThumb).Name("messages.file_thumb")
	rec.Post("/messages/:thread<int>/draft", web.LateDraft, h.draftReply).Name("messages.reply.draft")
	rec.Get("/messages/:thread<int>/stream", web.PassiveRoute, h.threadStream).Name("messages.stream")
	rec.Get("/messages/stream", web.PassiveRoute, h.countStream).Name("messages.count_stream")
}

// list is "New messages": this holder's threads on this record.
func (h *Handler) list(c *fiber.Ctx) error {
	held := access.Holding(c)
	threads, err := h.Store.ForHolder(c.UserContext(), person(c), held.ID)
	if err != nil {
		return err
	}
	types, err := h.typeNames(c)
	if err != nil {
		return err
	}
	if err := h.auditRecord(c, "message.listed", held.ID, ""); err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "messages/list", Title: "records.nav.messages",
		Data: ListView{Threads: threads, Types: types}, Record: access.Frame(held, "messages")})
}

// ListView is "New messages".
type ListView struct {
	Threads []Thread
	Types   map[int64]Type
}

func (h *Handler) typeNames(c *fiber.Ctx) (map[int64]Type, error) {
	all, err := h.Store.Types(c.UserContext(), false)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]Type, len(all))
	for _, t := range all {
		out[t.ID] = t
	}
	return out, nil
}

// NewView is "New Message": the types, and what is being written.
type NewView struct {
	Types  []Type
	Type   *Type             // the chosen type, once chosen
	Form   *formdef.Template // the chosen type's form, if it is one
	Errors []formdef.Error   // the form's, after Send
	Draft  Draft
	// MaxFiles and MaxMB are the limits on the message's files.
	MaxFiles, MaxMB int
}

// newShow is "New Message", with the draft saved before (after an idle
// sign-out, a lost connection or a new sign-in).
func (h *Handler) newShow(c *fiber.Ctx) error {
	held := access.Holding(c)
	d, err := h.Store.DraftOf(c.UserContext(), person(c), held.ID, 0)
	if err != nil {
		return err
	}
	return h.newPage(c, d, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) newPage(c *fiber.Ctx, d Draft, form *web.Form, status int) error {
	return h.newPageErrors(c, d, form, nil, status)
}

func (h *Handler) newPageErrors(c *fiber.Ctx, d Draft, form *web.Form, errs []formdef.Error, status int) error {
	types, err := h.offeredTypes(c)
	if err != nil {
		return err
	}
	v := NewView{Types: types, Draft: d, Errors: errs, MaxFiles: attachments.MaxFiles, MaxMB: attachments.MaxSize >> 20}
	for i := range types {
		if types[i].ID == d.TypeID {
			v.Type = &types[i]
		}
	}
	if v.Form, err = h.formOf(c.UserContext(), v.Type); err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "messages/new", Title: "messages.new.title", Data: v, Form: form,
		Status: status, Record: access.Frame(access.Holding(c), "messages")})
}

// posted reads the New Message form's values: the draft, the chosen type
// (nil if none or not offered) and its form (nil for a free message).
func (h *Handler) posted(c *fiber.Ctx, v url.Values) (Draft, *Type, *formdef.Template, error) {
	d := draftFrom(v)
	t, err := h.Store.TypeByID(c.UserContext(), d.TypeID)
	if errors.Is(err, ErrNotFound) {
		return d, nil, nil, nil
	}
	if err != nil {
		return d, nil, nil, err
	}
	tpl, err := h.formOf(c.UserContext(), t)
	if err != nil {
		return d, nil, nil, err
	}
	if !offeredTo(tpl, access.Holding(c)) {
		// Security: a type this holder is not offered is no type at all.
		return d, nil, nil, nil
	}
	if tpl != nil {
		d.Answers = answersFrom(v, tpl)
	}
	return d, t, tpl, nil
}

// offeredTypes are the shown types whose form, if any, is for this
// holder's relationship to the record (a foster carer recording is for
// foster carers only).
func (h *Handler) offeredTypes(c *fiber.Ctx) ([]Type, error) {
	types, err := h.Store.Types(c.UserContext(), true)
	if err != nil {
		return nil, err
	}
	offered := types[:0]
	for i := range types {
		tpl, err := h.formOf(c.UserContext(), &types[i])
		if err != nil {
			return nil, err
		}
		if offeredTo(tpl, access.Holding(c)) {
			offered = append(offered, types[i])
		}
	}
	return offered, nil
}

// offeredTo reports whether a type with form tpl (nil: a free message)
// may be sent by held's holder.
func offeredTo(tpl *formdef.Template, held *access.Held) bool {
	return tpl == nil || tpl.SendableTo(held.Relationship)
}

// formBody checks a form type's answers, adding their errors to form, and
// returns them as the message's body.
func (h *Handler) formBody(c *fiber.Ctx, form *web.Form, d Draft, tpl *formdef.Template) (string, *string, []formdef.Error) {
	_, errs := tpl.ValidateAll(d.Answers, h.today())
	lang := web.Lang(c)
	for _, e := range errs {
		form.Errors = append(form.Errors, forms.FieldError(e, lang))
	}
	body, _ := json.Marshal(d.Answers)
	key := tpl.Key
	return string(body), &key, errs
}

// send sends a new message, with its files: a new thread to the type's
// team. "Choose" (the type, without JavaScript) shows the page again for
// that type. The words are kept as a draft whatever happens to the files.
func (h *Handler) send(c *fiber.Ctx) error {
	held := access.Holding(c)
	post, err := ReadPost(c, h.Scanner)
	defer post.Close()
	if err != nil {
		return err
	}
	d, t, tpl, err := h.posted(c, post.Values)
	if err != nil {
		return err
	}
	if err := h.Store.SaveDraft(c.UserContext(), person(c), held.ID, 0, d); err != nil {
		return err
	}
	if post.Values.Get("action") == "choose" {
		return h.newPage(c, d, web.NewForm(), fiber.StatusOK)
	}
	form := post.Form
	if t == nil {
		form.Add("type", "messages.new.error_type")
	}
	m := &Message{AuthorID: person(c), Files: post.Files}
	var errs []formdef.Error
	if tpl != nil {
		if d.Subject == "" {
			d.Subject = tpl.Title.In(web.Lang(c))
		}
		Check(form, &Draft{Subject: d.Subject, Body: "-"}, true)
		m.Body, m.FormKey, errs = h.formBody(c, form, d, tpl)
	} else {
		Check(form, &d, true)
		m.Body = d.Body
	}
	if !form.Valid() {
		return h.newPageErrors(c, d, form, errs, post.Failed())
	}
	if limited, err := h.overLimit(c, form, "subject"); limited || err != nil {
		if err != nil {
			return err
		}
		return h.newPageErrors(c, d, form, errs, fiber.StatusTooManyRequests)
	}
	th := &Thread{RecordID: held.ID, HolderID: person(c), TypeID: t.ID, TeamID: t.TeamID, Subject: d.Subject, StartedBy: person(c)}
	m.RequestKey = requestKey(c)
	if err := h.Store.Start(c.UserContext(), th, m); err != nil {
		if thread, ok := SentBefore(err); ok {
			return h.sentAlready(c, held.ID, thread, 0)
		}
		if errors.Is(err, storage.ErrUnavailable) {
			// Storage is down: no thread, no message; the words stay (and
			// are the draft), the files are asked for again.
			form.Add(FilesField, "errors.storage.upload_message")
			web.RetrySafe(c)
			return h.newPageErrors(c, d, form, errs, fiber.StatusServiceUnavailable)
		}
		return err
	}
	if err := h.afterSend(c, th, 0); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("messages.thread", th.RecordID, th.ID))
}

// afterSend discards the draft, audits, tells the team and confirms.
func (h *Handler) afterSend(c *fiber.Ctx, th *Thread, draftThread int64) error {
	if err := h.Store.DeleteDraft(c.UserContext(), person(c), th.RecordID, draftThread); err != nil {
		return err
	}
	if err := h.auditRecord(c, "message.sent", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	first, _, err := h.Limiter.Allow(c.UserContext(), teamEmailPerThread, itoa(th.ID))
	if err != nil {
		return err
	}
	if first {
		if err := h.tellTeam(c, th); err != nil {
			return err
		}
	}
	return h.Sessions.AddFlash(c, "success", "messages.sent")
}

// sentAlready answers a send whose request made its message before (its
// first answer lost after the commit, its idempotency key released): as
// the first answer would, the draft goes and the page leads to the
// thread. Nothing is sent, audited or emailed again.
func (h *Handler) sentAlready(c *fiber.Ctx, record, thread, draftThread int64) error {
	if err := h.Store.DeleteDraft(c.UserContext(), person(c), record, draftThread); err != nil {
		return err
	}
	if err := h.Sessions.AddFlash(c, "success", "messages.sent"); err != nil {
		return err
	}
	path := h.Render.Path("messages.thread", record, thread)
	if draftThread != 0 {
		path += "#latest"
	}
	return web.Redirect(c, path)
}

// requestKey is the request's idempotency key hash for a new message's
// RequestKey, nil without one.
func requestKey(c *fiber.Ctx) *string {
	if key := web.RequestKey(c); key != "" {
		return &key
	}
	return nil
}

// tellTeam emails each member of the thread's team that a message came.
func (h *Handler) tellTeam(c *fiber.Ctx, th *Thread) error {
	team, err := h.People.TeamMembers(c.UserContext(), th.TeamID)
	if err != nil {
		return err
	}
	for _, p := range team {
		// Security: nothing personal; the link leads to the inbox.
		if err := h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
			Template: "email_new_message", Data: map[string]string{"Link": h.Render.Path("staff.inbox")}}); err != nil {
			return err
		}
	}
	return nil
}

// overLimit counts a message of this holder's and, over messagesPerHolder,
// says on field of form when they can send again (what they wrote stays
// as a draft).
func (h *Handler) overLimit(c *fiber.Ctx, form *web.Form, field string) (bool, error) {
	ok, until, err := h.Limiter.Allow(c.UserContext(), messagesPerHolder, itoa(person(c)))
	if err != nil || ok {
		return false, err
	}
	form.AddArgs(field, "messages.new.error_limit", "Time", until.In(clock.London).Format("15:04"))
	return true, nil
}

// Check adds the errors of a subject (new threads) and a body to form,
// as New Message and the staff's Send a message show them.
func Check(form *web.Form, d *Draft, subject bool) {
	if subject {
		form.Values["subject"] = d.Subject
		if d.Subject == "" {
			form.Add("subject", "messages.new.error_subject")
		} else if utf8.RuneCountInString(d.Subject) > SubjectMax {
			form.AddArgs("subject", "messages.new.error_subject_long", "Max", SubjectMax)
		}
	}
	d.Body = strings.TrimSpace(d.Body)
	if d.Body == "" {
		form.Add("body", "messages.new.error_body")
	} else if utf8.RuneCountInString(d.Body) > BodyMax {
		form.AddArgs("body", "messages.new.error_body_long", "Max", "50,000")
	}
}

// ThreadView is one page of a thread as its holder sees it.
type ThreadView struct {
	Thread   *Thread
	Type     Type
	Messages []Posted
	Readable map[int64]forms.Summary // form messages as questions and answers
	Draft    Draft
	// Before is the page's ?before= (0: the newest page, with Reply and
	// the live stream); Older is the ?before= of the page before it (0:
	// this page starts the thread).
	Before, Older int64
	// Form is set when a worker asked for a form (a recording) by starting
	// the thread with its type: the reply is then the form's answers.
	Form   *formdef.Template
	Errors []formdef.Error // the form's, after Send
	Links  FileLinks       // the holder's addresses of the thread's files
	// MaxFiles and MaxMB are the limits on a reply's files.
	MaxFiles, MaxMB int
}

// FormFields are the asked-for form's questions, for the field partial.
func (v ThreadView) FormFields(view *web.View) []forms.FieldView {
	if v.Form == nil {
		return nil
	}
	return forms.FieldViews(view, v.Form, v.Draft.Answers, v.Errors, view.Lang)
}

// Before reads a thread page's ?before=: 0 when absent (the newest page),
// else the message id the page ends before. Anything but a positive
// number is web.NotFound(), as for an unknown thread.
func Before(c *fiber.Ctx) (int64, error) {
	s := c.Query("before")
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, web.NotFound()
	}
	return id, nil
}

// threadShow is one page of a thread, both sides: the newest PageSize
// messages with Reply, or with ?before= the ones before (Before). Opening
// the newest page reads the thread; an older page leaves it unread, as
// its newest messages are not on it.
func (h *Handler) threadShow(c *fiber.Ctx) error {
	th, err := h.holderThread(c)
	if err != nil {
		return err
	}
	before, err := Before(c)
	if err != nil {
		return err
	}
	if before == 0 {
		if err := h.Store.ReadByHolder(c.UserContext(), th); err != nil {
			return err
		}
	}
	if err := h.auditRecord(c, "message.read", th.RecordID, "thread:"+itoa(th.ID)); err != nil {
		return err
	}
	var d Draft
	if before == 0 {
		if d, err = h.Store.DraftOf(c.UserContext(), person(c), th.RecordID, th.ID); err != nil {
			return err
		}
	}
	return h.threadPage(c, th, before, d, web.NewForm(), fiber.StatusOK)
}

func (h *Handler) threadPage(c *fiber.Ctx, th *Thread, before int64, d Draft, form *web.Form, status int) error {
	return h.threadPageErrors(c, th, before, d, form, nil, status)
}

// threadPageErrors is threadPage with the asked-for form's errors.
func (h *Handler) threadPageErrors(c *fiber.Ctx, th *Thread, before int64, d Draft, form *web.Form, errs []formdef.Error, status int) error {
	asked, err := h.askedForm(c, th)
	if err != nil {
		return err
	}
	msgs, older, err := h.Store.Messages(c.UserContext(), th, before)
	if err != nil {
		return err
	}
	if err := h.Store.Files(c.UserContext(), th, msgs); err != nil {
		return err
	}
	types, err := h.typeNames(c)
	if err != nil {
		return err
	}
	readable, err := Readable(c.UserContext(), h.Forms, h.Render.Localizer(c), msgs)
	if err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "messages/thread", Title: "messages.thread.title",
		Data: ThreadView{Thread: th, Type: types[th.TypeID], Messages: msgs, Readable: readable, Draft: d, Before: before,
			Older: older, Form: asked, Errors: errs, Links: h.holderLinks(th), MaxFiles: attachments.MaxFiles,
			MaxMB: attachments.MaxSize >> 20},
		Form: form, Status: status,
		Record: access.Frame(access.Holding(c), "messages")})
}

// reply adds the holder's reply, with its files, to the thread.
func (h *Handler) reply(c *fiber.Ctx) error {
	th, err := h.holderThread(c)
	if err != nil {
		return err
	}
	post, err := ReadPost(c, h.Scanner)
	defer post.Close()
	if err != nil {
		return err
	}
	asked, err := h.askedForm(c, th)
	if err != nil {
		return err
	}
	if asked != nil {
		return h.replyWithForm(c, th, asked, post)
	}
	d := draftFrom(post.Values)
	form := post.Form
	Check(form, &d, false)
	status := post.Failed()
	if form.Valid() {
		limited, err := h.overLimit(c, form, "body")
		if err != nil {
			return err
		}
		if limited {
			status = fiber.StatusTooManyRequests
		}
	}
	if !form.Valid() {
		if err := h.Store.SaveDraft(c.UserContext(), person(c), th.RecordID, th.ID, d); err != nil {
			return err
		}
		return h.threadPage(c, th, 0, d, form, status)
	}
	if err := h.Store.Reply(c.UserContext(), th, &Message{AuthorID: person(c), Body: d.Body, Files: post.Files, RequestKey: requestKey(c)}); err != nil {
		if _, ok := SentBefore(err); ok {
			return h.sentAlready(c, th.RecordID, th.ID, th.ID)
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			return err
		}
		if err := h.Store.SaveDraft(c.UserContext(), person(c), th.RecordID, th.ID, d); err != nil {
			return err
		}
		form.Add(FilesField, "errors.storage.upload_message")
		web.RetrySafe(c)
		return h.threadPage(c, th, 0, d, form, fiber.StatusServiceUnavailable)
	}
	if err := h.afterSend(c, th, th.ID); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("messages.thread", th.RecordID, th.ID)+"#latest")
}

// askedForm is the form a worker asked this holder for by starting th with
// a form's type (a recording), or nil: the reply is free text then.
func (h *Handler) askedForm(c *fiber.Ctx, th *Thread) (*formdef.Template, error) {
	if th.StartedBy == th.HolderID {
		return nil, nil // the holder's own thread: replies are messages
	}
	t, err := h.Store.TypeByID(c.UserContext(), th.TypeID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tpl, err := h.formOf(c.UserContext(), t)
	if err != nil || !offeredTo(tpl, access.Holding(c)) {
		return nil, err
	}
	return tpl, nil
}

// replyWithForm sends the asked-for form's answers, with their files, as
// the reply.
func (h *Handler) replyWithForm(c *fiber.Ctx, th *Thread, tpl *formdef.Template, post *Post) error {
	d := Draft{Answers: answersFrom(post.Values, tpl)}
	form := post.Form
	m := &Message{AuthorID: person(c), Files: post.Files}
	var errs []formdef.Error
	m.Body, m.FormKey, errs = h.formBody(c, form, d, tpl)
	if !form.Valid() {
		return h.threadPageErrors(c, th, 0, d, form, errs, post.Failed())
	}
	if limited, err := h.overLimit(c, form, tpl.Pages[0].Fields[0].Name); limited || err != nil {
		if err != nil {
			return err
		}
		return h.threadPageErrors(c, th, 0, d, form, errs, fiber.StatusTooManyRequests)
	}
	m.RequestKey = requestKey(c)
	if err := h.Store.Reply(c.UserContext(), th, m); err != nil {
		if _, ok := SentBefore(err); ok {
			return h.sentAlready(c, th.RecordID, th.ID, th.ID)
		}
		if errors.Is(err, storage.ErrUnavailable) {
			form.Add(FilesField, "errors.storage.upload_message")
			web.RetrySafe(c)
			return h.threadPageErrors(c, th, 0, d, form, errs, fiber.StatusServiceUnavailable)
		}
		return err
	}
	if err := h.afterSend(c, th, th.ID); err != nil {
		return err
	}
	return web.Redirect(c, h.Render.Path("messages.thread", th.RecordID, th.ID)+"#latest")
}

// draftNew and draftReply keep what is being written (htmx, passive: as
// the person types and before an idle sign-out). They answer 204.
func (h *Handler) draftNew(c *fiber.Ctx) error {
	held := access.Holding(c)
	v, err := draftValues(c)
	if err != nil {
		return err
	}
	d, _, _, err := h.posted(c, v)
	if err != nil {
		return err
	}
	if err := h.Store.SaveDraft(c.UserContext(), person(c), held.ID, 0, d); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handler) draftReply(c *fiber.Ctx) error {
	th, err := h.holderThread(c)
	if err != nil {
		return err
	}
	v, err := draftValues(c)
	if err != nil {
		return err
	}
	if err := h.Store.SaveDraft(c.UserContext(), person(c), th.RecordID, th.ID, draftFrom(v)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// draftValues are a draft save's fields. A draft carries words only, sent
// URL-encoded (the words-only htmx extension, app.js, even from a form
// that takes files); anything else is refused rather than read as an
// empty draft over the one kept.
func draftValues(c *fiber.Ctx) (url.Values, error) {
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		return nil, &web.Error{Status: fiber.StatusUnsupportedMediaType, Key: "errors.bad_request.body"}
	}
	v := url.Values{}
	c.Request().PostArgs().VisitAll(func(k, val []byte) { v.Add(string(k), string(val)) })
	return v, nil
}

// holderThread loads the URL's thread as this holder's on this record.
func (h *Handler) holderThread(c *fiber.Ctx) (*Thread, error) {
	id, err := c.ParamsInt("thread")
	if err != nil {
		return nil, web.NotFound()
	}
	th, err := h.Store.HolderThread(c.UserContext(), person(c), access.Holding(c).ID, int64(id))
	return th, err
}

func (h *Handler) auditRecord(c *fiber.Ctx, action string, recordID int64, target string) error {
	p := person(c)
	return h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p, Action: action, RecordID: &recordID,
		Target: target}))
}

// today is the calendar day in London, for a form's date rules.
func (h *Handler) today() time.Time { return clock.Today(h.Clock) }

func person(c *fiber.Ctx) int64 { return *web.CurrentSession(c).PersonID }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// MessageView is one message for the message partial.
type MessageView struct {
	*web.View
	Posted
	Mine     bool           // written by the viewer
	Readable *forms.Summary // a form message's questions and answers
	Files    []FileView     // its files, with the viewer's links
}

// Items are the thread's messages for the partial, as viewer sees them.
func (v ThreadView) Items(view *web.View) []MessageView {
	return Views(view, v.Messages, v.Readable, v.Links)
}

// LastID is the id of the last message shown: the live stream sends what
// comes after it.
func (v ThreadView) LastID() int64 {
	if len(v.Messages) == 0 {
		return 0
	}
	return v.Messages[len(v.Messages)-1].ID
}

// Views are messages for the message partial (views/messages/_message),
// on the holder's side and the staff's alike; readable holds the form
// messages' questions and answers (Readable), links the viewer's
// addresses of files (their files read with Store.Files).
func Views(view *web.View, msgs []Posted, readable map[int64]forms.Summary, links FileLinks) []MessageView {
	out := make([]MessageView, len(msgs))
	for i, m := range msgs {
		out[i] = messageView(view, m, links)
		if r, ok := readable[m.ID]; ok {
			out[i].Readable = &r
		}
	}
	return out
}

func messageView(view *web.View, m Posted, links FileLinks) MessageView {
	return MessageView{View: view, Posted: m, Mine: view.Viewer != nil && m.AuthorID == view.Viewer.ID,
		Files: FileViews(m.Attached, links)}
}

// FileList is the message's files for their partial.
func (v MessageView) FileList() Attached { return Attached{View: v.View, Files: v.Files} }
