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
// fasthttp reads only the first 8 KiB before the handler and never drains
// what a handler leaves unread: those bytes would be parsed as the next
// request on the connection (a proxy could then hand one family's answer
// to another person). So LimitBody either reads every small body whole
// before any handler runs, or, for an upload, closes the connection after
// the answer.

// LimitBody refuses, with 413, a body larger than limit (or of unknown
// length) on every request but an upload, reads the bodies it lets
// through, and lets an upload be read as a stream of at most uploadMax
// bytes on a connection that closes after the answer. An upload is a
// well-formed multipart POST to a route marked UploadRoute. LimitBody runs
// first, before any handler (static files included); UploadsSignedIn then
// refuses an upload from someone not signed in.
func LimitBody(limit int, uploadMax int64, routes *Routes) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if routes.On(c, UploadRoute) && MultipartBoundary(c) != "" {
			c.Set(fiber.HeaderConnection, "close")
			c.Locals(streamLimitKey, uploadMax)
			return c.Next()
		}
		if n := c.Request().Header.ContentLength(); n > limit || n == -1 {
			c.Set(fiber.HeaderConnection, "close")
			return &Error{Status: fiber.StatusRequestEntityTooLarge, Key: "errors.too_large.body"}
		}
		// Security: the whole body, now, whatever the handler reads later.
		_ = c.Request().Body()
		return c.Next()
	}
}

// UploadsSignedIn refuses an upload's body, unread, unless its sender is
// signed in (AAL2). It runs after the session middleware and before CSRF,
// which would read the upload's first part.
func UploadsSignedIn() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if isStreamed(c) && !CurrentSession(c).SignedIn() {
			return &Error{Status: fiber.StatusRequestEntityTooLarge, Key: "errors.too_large.body"}
		}
		return c.Next()
	}
}

// MultipartBoundary is the boundary of a well-formed multipart/form-data
// Content-Type, or "" (upload routes take nothing else).
func MultipartBoundary(c *fiber.Ctx) string {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm {
		return ""
	}
	return params["boundary"]
}

const streamLimitKey = "web.stream_limit"

const (
	multipartKey = "web.multipart"
	limitedKey   = "web.limited_body"
)

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
	boundary := MultipartBoundary(c)
	body := c.Context().RequestBodyStream()
	if boundary == "" || body == nil {
		return nil, ErrNotMultipart
	}
	// Security: LimitBody let a large body through only for an upload,
	// with a ceiling on everything read from it, part headers included.
	limit, ok := c.Locals(streamLimitKey).(int64)
	if !ok {
		limit = int64(len(c.Request().Body()))
	}
	limited := io.LimitReader(body, limit)
	mr := multipart.NewReader(limited, boundary)
	c.Locals(multipartKey, mr)
	c.Locals(limitedKey, limited)
	return mr, nil
}

// isStreamed reports whether LimitBody let the request's body through as
// a stream (an upload): it must never be read whole.
func isStreamed(c *fiber.Ctx) bool {
	_, ok := c.Locals(streamLimitKey).(int64)
	return ok
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

// DrainBody reads and drops what is left of an upload, within its ceiling,
// before an early answer (a file too large), so a browser still sending
// shows the answer rather than a reset connection.
func DrainBody(c *fiber.Ctx) {
	if r, ok := c.Locals(limitedKey).(io.Reader); ok {
		_, _ = io.Copy(io.Discard, r)
	}
}
