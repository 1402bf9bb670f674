package web

import (
	"io"

	"github.com/gofiber/fiber/v2"

	"portal/app/uploads"
)

// SendFile streams r (size bytes of contentType, a file a person uploaded)
// as a download named name (uploads.SafeFileName; "" for none), and
// closes it. The headers keep a browser from running or embedding the
// file: a sandbox CSP (a PDF viewer or an image opened in place can run
// nothing), nosniff with the type checked at upload, same-origin only,
// never cached. An <img> shows a picture sent so all the same.
func SendFile(c *fiber.Ctx, r io.ReadCloser, size int64, contentType, name string) error {
	h := &c.Response().Header
	h.Set(fiber.HeaderContentType, contentType)
	h.Set(fiber.HeaderContentDisposition, uploads.ContentDisposition(name))
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(fiber.HeaderCacheControl, "no-store")
	// Streamed: fasthttp copies from r in small buffers and closes it.
	return c.SendStream(r, int(size))
}
