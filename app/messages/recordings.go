package messages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/attachments"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/i18n"
	"portal/app/printout"
	"portal/app/uploads"
	"portal/app/web"
)

// "Recordings I have sent" (issue 16): a foster carer's own copy of every
// recording they sent, read-only, with its PDF. It is the person's, not a
// record's page: it stays readable after a placement ends, for
// Deps.RecordingsKept (RECORDINGS_KEPT_DAYS), and goes at once when a
// worker ends access (access.Store.KeptCopies decides which records).

// RecordingForm is the form template a recording is (formdef templates).
const RecordingForm = "foster_carer_recording"

// Recording is one recording a holder sent, its answers opened.
type Recording struct {
	Posted
	RecordID   int64
	RecordName string
}

// SentRecordings lists the recordings person sent on records, newest
// first. Security: by author and record, never by id alone.
func (s *Store) SentRecordings(ctx context.Context, personID int64, records []int64, id int64) ([]Recording, error) {
	if len(records) == 0 {
		return nil, nil
	}
	q := `SELECT m.*, t.record_id, r.given_name || ' ' || r.family_name AS record_name
		FROM messages m JOIN threads t ON t.id = m.thread_id JOIN records r ON r.id = t.record_id
		WHERE m.author_id = ? AND NOT m.from_staff AND m.form_key = ? AND t.record_id IN ?`
	args := []any{personID, RecordingForm, records}
	if id != 0 {
		q += ` AND m.id = ?`
		args = append(args, id)
	}
	var out []Recording
	if err := s.db.WithContext(ctx).Raw(q+` ORDER BY m.id DESC`, args...).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("messages: recordings: %w", err)
	}
	for i := range out {
		plain, err := s.sealer.Open(bodyPurpose(out[i].ThreadID), out[i].SealedBody)
		if err != nil {
			return nil, fmt.Errorf("messages: recording %d: %w", out[i].ID, err)
		}
		out[i].Body = string(plain)
	}
	return out, s.recordingFiles(ctx, out)
}

// recordingFiles reads the files of recordings (a list scoped to their
// author) into each one's Attached.
func (s *Store) recordingFiles(ctx context.Context, recordings []Recording) error {
	if s.files == nil || len(recordings) == 0 {
		return nil
	}
	ids := make([]int64, len(recordings))
	for i, r := range recordings {
		ids[i] = r.ID
	}
	byMessage, err := s.files.ForMessageIDs(ctx, ids)
	if err != nil {
		return err
	}
	for i := range recordings {
		recordings[i].Attached = byMessage[recordings[i].ID]
	}
	return nil
}

// RecordingView is one recording as the list shows it.
type RecordingView struct {
	Recording
	Summary forms.Summary
	PDF     string     // the path of its PDF, for the reader's side
	Files   []FileView // its files, with the reader's side's links
}

// FileList is the recording's files for their partial.
func (r RecordingView) FileList(view *web.View) Attached { return Attached{View: view, Files: r.Files} }

// RecordingsPage is a list of recordings: the carer's own, or one carer's
// on a record for its worker (template messages/recordings).
type RecordingsPage struct {
	Intro string // message id of the lead paragraph
	None  string // message id shown when there are none
	Items []RecordingView
}

// Recordings are the recordings person sent on records (one when id is
// not 0), their answers in loc's language: the carer's own list, and the
// worker's list of one carer's recordings on a record of their team.
func Recordings(ctx context.Context, store *Store, templates *forms.Store, loc *i18n.Localizer,
	personID int64, records []int64, id int64) ([]RecordingView, error) {
	sent, err := store.SentRecordings(ctx, personID, records, id)
	if err != nil || len(sent) == 0 {
		return nil, err
	}
	t, err := templates.ByKey(ctx, RecordingForm)
	if err != nil {
		return nil, err
	}
	out := make([]RecordingView, len(sent))
	for i, r := range sent {
		var a formdef.Answers
		if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
			return nil, err
		}
		out[i] = RecordingView{Recording: r, Summary: forms.Summarise(t.Template, a, loc)}
	}
	return out, nil
}

// SendPDF answers with r as a PDF (the printout forms use): who sent it
// and when, and which record, over its questions and answers.
func SendPDF(c *fiber.Ctx, loc *i18n.Localizer, r RecordingView) error {
	v := web.ViewIn(loc)
	doc := r.Summary.Printout(loc,
		v.T("messages.recordings.pdf_sent", "Name", r.AuthorName, "Date", v.DateTime(r.CreatedAt)),
		v.T("messages.recordings.pdf_record", "Name", r.RecordName))
	var buf bytes.Buffer
	if err := printout.Render(&buf, doc); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	name := uploads.SafeFileName(v.T("messages.recordings.file", "Date", r.CreatedAt.In(clock.London).Format(time.DateOnly)), "", uploads.PDF)
	c.Set(fiber.HeaderContentDisposition, uploads.ContentDisposition(name))
	c.Type("pdf")
	return c.Send(buf.Bytes())
}

// myRecordings reads the signed-in person's recordings (one when id is
// not 0), on the records whose copies they keep.
func (h *Handler) myRecordings(c *fiber.Ctx, id int64) ([]RecordingView, error) {
	records, err := h.Access.KeptCopies(c.UserContext(), person(c), h.RecordingsKept)
	if err != nil {
		return nil, err
	}
	return Recordings(c.UserContext(), h.Store, h.Forms, h.Render.Localizer(c), person(c), records, id)
}

// recordingsList is "Recordings I have sent".
func (h *Handler) recordingsList(c *fiber.Ctx) error {
	list, err := h.myRecordings(c, 0)
	if err != nil {
		return err
	}
	for i := range list {
		list[i].PDF = h.Render.Path("messages.recording_pdf", list[i].ID)
		list[i].Files = FileViews(list[i].Attached, LinksTo(h.Render, "messages.recording_file", "messages.recording_thumb", list[i].ID))
	}
	p := person(c)
	if err := h.Audit.Write(c.UserContext(), nil, web.FromRequest(c, audit.Event{ActorID: &p, Action: "recording.listed"})); err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "messages/recordings", Title: "messages.recordings.title",
		Data: RecordingsPage{Intro: "messages.recordings.intro", None: "messages.recordings.none", Items: list}})
}

// myRecording is the URL's :message, one of the carer's kept recordings.
func (h *Handler) myRecording(c *fiber.Ctx) (*RecordingView, error) {
	id, err := strconv.ParseInt(c.Params("message"), 10, 64)
	if err != nil {
		return nil, web.NotFound()
	}
	list, err := h.myRecordings(c, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, web.NotFound()
	}
	return &list[0], nil
}

// recordingFile and recordingThumb are a kept recording's file and a
// photo's thumbnail: reached through the recording, which stays the
// carer's after the record's pages are not.
func (h *Handler) recordingFile(c *fiber.Ctx) error { return h.recordingAttachment(c, false) }

func (h *Handler) recordingThumb(c *fiber.Ctx) error { return h.recordingAttachment(c, true) }

func (h *Handler) recordingAttachment(c *fiber.Ctx, thumb bool) error {
	r, err := h.myRecording(c)
	if err != nil {
		return err
	}
	return SendAttachment(c, h.Files, r.ThreadID, r.ID, thumb, func(a *attachments.Attachment) error {
		return h.auditRecord(c, "message.file_opened", r.RecordID, "attachment:"+itoa(a.ID))
	})
}

// recordingPDF is one recording as a PDF (the printout forms use).
func (h *Handler) recordingPDF(c *fiber.Ctx) error {
	r, err := h.myRecording(c)
	if err != nil {
		return err
	}
	if err := h.auditRecord(c, "recording.downloaded", r.RecordID, "message:"+itoa(r.ID)); err != nil {
		return err
	}
	return SendPDF(c, h.Render.Localizer(c), *r)
}
