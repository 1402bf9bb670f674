package messages

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"portal/app/attachments"
	"portal/app/web"
)

// Files on a thread are reached only through the thread: the holder's
// through holderThread, the team's through the staff thread loader. Each
// side names the file by the URL's :file, and a file of another thread is
// the same 404 as none.

// file sends one of the holder's thread's files, as a download.
func (h *Handler) file(c *fiber.Ctx) error { return h.holderFile(c, false) }

// fileThumb sends a photo's thumbnail, shown on the thread.
func (h *Handler) fileThumb(c *fiber.Ctx) error { return h.holderFile(c, true) }

func (h *Handler) holderFile(c *fiber.Ctx, thumb bool) error {
	th, err := h.holderThread(c)
	if err != nil {
		return err
	}
	return SendAttachment(c, h.Files, th.ID, 0, thumb, func(a *attachments.Attachment) error {
		return h.auditRecord(c, "message.file_opened", th.RecordID, "attachment:"+itoa(a.ID))
	})
}

// SendAttachment answers with file :file of thread threadID (the thread
// the caller found for the actor) and, unless messageID is 0, of that
// message: the file itself, calling opened first (its audit event), or its
// thumbnail. Anything else is a 404.
func SendAttachment(c *fiber.Ctx, files *attachments.Store, threadID, messageID int64, thumb bool,
	opened func(*attachments.Attachment) error) error {
	id, err := c.ParamsInt("file")
	if err != nil || c.Get("Sec-Fetch-Site") == "cross-site" {
		return web.NotFound()
	}
	a, err := files.Get(c.UserContext(), threadID, int64(id))
	if err != nil {
		return err
	}
	if messageID != 0 && a.MessageID != messageID {
		return web.NotFound()
	}
	r, info, err := files.Open(c.UserContext(), a, thumb)
	if err != nil {
		return err
	}
	if thumb {
		return web.SendFile(c, r, info.Size, "image/jpeg", "")
	}
	if err := opened(a); err != nil {
		r.Close()
		return err
	}
	return web.SendFile(c, r, info.Size, a.ContentType, a.Name)
}

// FileView is one file of a message as its thread shows it: a link to it,
// and for a photo the thumbnail's address.
type FileView struct {
	attachments.Attachment
	Href, Thumb string
}

// Attached is a message's files for their partial (messages/_attached).
type Attached struct {
	*web.View
	Files []FileView
}

// FileViews are files with their links.
func FileViews(files []attachments.Attachment, links FileLinks) []FileView {
	var out []FileView
	for _, a := range files {
		out = append(out, links(a))
	}
	return out
}

// FileLinks make a file's addresses on one side (the holder's or the
// staff's routes).
type FileLinks func(a attachments.Attachment) FileView

// LinksTo are the addresses of files on the routes named file and thumb,
// whose values are params and then the file's id.
func LinksTo(r *web.Renderer, file, thumb string, params ...any) FileLinks {
	return func(a attachments.Attachment) FileView {
		at := append(slices.Clip(params), a.ID)
		v := FileView{Attachment: a, Href: r.Path(file, at...)}
		if a.IsImage() {
			v.Thumb = r.Path(thumb, at...)
		}
		return v
	}
}

// holderLinks are the holder's addresses of files on thread th.
func (h *Handler) holderLinks(th *Thread) FileLinks {
	return LinksTo(h.Render, "messages.file", "messages.file_thumb", th.RecordID, th.ID)
}
