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
		if IsStreamed(c) && !CurrentSession(c).SignedIn() {
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

// Parts is an upload's multipart/form-data body read as a stream of parts,
// in the order the browser sent them (a form's order). Part values are not
// buffered: the caller reads each, with a limit of its own. The middleware
// takes the form's tokens from its head (Field): a part it looked at and
// left comes back first from NextPart, so no handler loses a field.
type Parts struct {
	mr   *multipart.Reader
	next *multipart.Part // looked at by Field, not taken
}

// NextPart is the next part, or io.EOF after the last.
func (p *Parts) NextPart() (*multipart.Part, error) {
	if part := p.next; part != nil {
		p.next = nil
		return part, nil
	}
	return p.mr.NextPart()
}

// Field reads the next part if it is the field name, of at most max bytes,
// and reports whether it was; any other part is left for NextPart.
func (p *Parts) Field(name string, max int64) (string, bool) {
	part, err := p.NextPart()
	if err != nil {
		return "", false
	}
	if part.FormName() != name || part.FileName() != "" {
		p.next = part
		return "", false
	}
	b, err := io.ReadAll(io.LimitReader(part, max+1))
	if err != nil || int64(len(b)) > max {
		return "", false
	}
	return string(b), true
}

// Multipart is the request's multipart/form-data body as a stream of parts
// (Parts), one for the request whoever asks.
func Multipart(c *fiber.Ctx) (*Parts, error) {
	if p, ok := c.Locals(multipartKey).(*Parts); ok {
		return p, nil
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
	p := &Parts{mr: multipart.NewReader(limited, boundary)}
	c.Locals(multipartKey, p)
	c.Locals(limitedKey, limited)
	return p, nil
}

// IsStreamed reports whether LimitBody let the request's body through as
// a stream (an upload): it must never be read whole, only with Multipart.
func IsStreamed(c *fiber.Ctx) bool {
	_, ok := c.Locals(streamLimitKey).(int64)
	return ok
}

// StreamedField reads a form token from the head of an upload's body: the
// next part, if it is the field name (forms put _csrf first, then _idem,
// FormTokens). Reading it does not buffer the rest.
func StreamedField(c *fiber.Ctx, name string) string {
	p, err := Multipart(c)
	if err != nil {
		return ""
	}
	v, _ := p.Field(name, 256)
	return v
}

// DrainBody reads and drops what is left of an upload, within its ceiling,
// before an early answer (a file too large), so a browser still sending
// shows the answer rather than a reset connection.
func DrainBody(c *fiber.Ctx) {
	if r, ok := c.Locals(limitedKey).(io.Reader); ok {
		_, _ = io.Copy(io.Discard, r)
	}
}

// PartReader reads one part of an upload and keeps the first error the
// body itself gave (not io.EOF), so that a body cut short or malformed,
// the sender's doing (a 400), is told apart from a refusal of the file or
// a failure of the scanner or the disk.
type PartReader struct {
	r   io.Reader
	err error
}

// NewPartReader reads part.
func NewPartReader(part io.Reader) *PartReader { return &PartReader{r: part} }

func (r *PartReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// BodyError is the 400 for a body that failed while r read it, or nil.
func (r *PartReader) BodyError() error {
	if r.err == nil {
		return nil
	}
	return BadRequest("errors.bad_request.body")
}

// Drain reads and drops the rest of the part; a body that fails is a 400.
func (r *PartReader) Drain() error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return BadRequest("errors.bad_request.body")
	}
	return nil
}
