package staff

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"portal/app/attachments"
	"portal/app/messages"
	"portal/app/web"
)

// A carer's recordings on a record of the worker's team, as the carer's
// own "Recordings I have sent" shows them (issue 16): the record comes
// from the team's loader, and only recordings on it are listed.

// carerRecordings lists the recordings person :person sent on the record.
func (h *Handler) carerRecordings(c *fiber.Ctx) error {
	list, err := h.recordingsOf(c, 0)
	if err != nil {
		return err
	}
	r := teamRecord(c)
	for i := range list {
		list[i].PDF = h.Render.Path("staff.recording_pdf", r.ID, list[i].AuthorID, list[i].ID)
		list[i].Files = messages.FileViews(list[i].Attached,
			messages.LinksTo(h.Render, "staff.recording_file", "staff.recording_thumb", r.ID, list[i].AuthorID, list[i].ID))
	}
	if err := h.audit(c, "recording.listed", r.ID, "person:"+c.Params("person")); err != nil {
		return err
	}
	return h.Render.Render(c, web.Page{Template: "messages/recordings", Title: "staff.recordings.title",
		Data: messages.RecordingsPage{Intro: "staff.recordings.intro", None: "staff.recordings.none", Items: list}})
}

// carerRecordingPDF is one of them as a PDF; another record's, or another
// person's, is the same 404 as none.
func (h *Handler) carerRecordingPDF(c *fiber.Ctx) error {
	r, err := h.carerRecording(c)
	if err != nil {
		return err
	}
	if err := h.audit(c, "recording.downloaded", teamRecord(c).ID, "message:"+itoa(r.ID)); err != nil {
		return err
	}
	return messages.SendPDF(c, h.Render.Localizer(c), *r)
}

// carerRecordingFile and carerRecordingThumb are a file of one of them and
// a photo's thumbnail, reached through the recording.
func (h *Handler) carerRecordingFile(c *fiber.Ctx) error { return h.carerRecordingAttachment(c, false) }

func (h *Handler) carerRecordingThumb(c *fiber.Ctx) error { return h.carerRecordingAttachment(c, true) }

func (h *Handler) carerRecordingAttachment(c *fiber.Ctx, thumb bool) error {
	r, err := h.carerRecording(c)
	if err != nil {
		return err
	}
	return messages.SendAttachment(c, h.Files, r.ThreadID, r.ID, thumb, func(a *attachments.Attachment) error {
		return h.audit(c, "message.file_opened", r.RecordID, "attachment:"+itoa(a.ID))
	})
}

// carerRecording is the URL's :message, one of the carer's recordings on
// the record, or a 404.
func (h *Handler) carerRecording(c *fiber.Ctx) (*messages.RecordingView, error) {
	id, err := strconv.ParseInt(c.Params("message"), 10, 64)
	if err != nil {
		return nil, web.NotFound()
	}
	list, err := h.recordingsOf(c, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, web.NotFound()
	}
	return &list[0], nil
}

func (h *Handler) recordingsOf(c *fiber.Ctx, id int64) ([]messages.RecordingView, error) {
	person, err := strconv.ParseInt(c.Params("person"), 10, 64)
	if err != nil {
		return nil, web.NotFound()
	}
	return messages.Recordings(c.UserContext(), h.Messages, h.Forms, h.Render.Localizer(c), person,
		[]int64{teamRecord(c).ID}, id)
}
