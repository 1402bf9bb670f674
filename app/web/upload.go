package web

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"

	"github.com/gofiber/fiber/v2"
)

// Request bodies are streamed (fiber.Config.StreamRequestBody), so that the
// one upload route can take a large file without holding it in memory.
// Everywhere else LimitBody keeps the small limit: a body is read whole
// only when it is known to be small.

// LimitBody refuses, with 413, a body larger than limit (or of unknown
// length) on every request but those isUpload lets through.
func LimitBody(limit int, isUpload func(*fiber.Ctx) bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		n := c.Request().Header.ContentLength()
		if (n > limit || n == -1) && !isUpload(c) {
			// Security: the rest of the body is never read, so the
			// connection cannot carry another request.
			c.Set(fiber.HeaderConnection, "close")
			return &Error{Status: fiber.StatusRequestEntityTooLarge, Key: "errors.too_large.body"}
		}
		return c.Next()
	}
}

const multipartKey = "web.multipart"

// ErrNotMultipart is a request to an upload route that is not a
// multipart/form-data body.
var ErrNotMultipart = errors.New("web: not a multipart form")

// Multipart reads the request's multipart/form-data body as a stream of
// parts, in the order the browser sent them (a form's order). Part values
// are not buffered: the caller reads each, with a limit of its own.
func Multipart(c *fiber.Ctx) (*multipart.Reader, error) {
	if mr, ok := c.Locals(multipartKey).(*multipart.Reader); ok {
		return mr, nil
	}
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return nil, ErrNotMultipart
	}
	body := c.Context().RequestBodyStream()
	if body == nil {
		return nil, ErrNotMultipart
	}
	mr := multipart.NewReader(body, params["boundary"])
	c.Locals(multipartKey, mr)
	return mr, nil
}

// isMultipart reports whether the request has a multipart body.
func isMultipart(c *fiber.Ctx) bool {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	return err == nil && mt == fiber.MIMEMultipartForm
}

// multipartToken reads the CSRF token from the first part of a multipart
// body, which must be the _csrf field (forms put it first). Reading it
// does not buffer the rest: the handler goes on from the second part.
func multipartToken(c *fiber.Ctx) string {
	mr, err := Multipart(c)
	if err != nil {
		return ""
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "_csrf" {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(p, 256))
	if err != nil {
		return ""
	}
	return string(b)
}

// DrainBody reads and discards what is left of a streamed request body,
// at most limit bytes, before an early answer (a file too large): a browser
// that is still sending shows the answer instead of a reset connection.
// More than limit left, and the connection is closed after the answer.
func DrainBody(c *fiber.Ctx, limit int64) {
	c.Set(fiber.HeaderConnection, "close")
	if body := c.Context().RequestBodyStream(); body != nil {
		_, _ = io.CopyN(io.Discard, body, limit)
	}
}
