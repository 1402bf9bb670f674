package web

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// ValidText reports whether b can be stored and shown as text: UTF-8, with
// no NUL byte (Postgres refuses both, error 22021, and no person types them).
func ValidText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// TextOnly refuses, with 422 and a message, a request whose query or form
// fields (names or values) are not ValidText, before any handler sees them.
// A streamed upload's parts are checked as they are read (the handler
// calls ValidText), never here: its body must not be read whole.
func TextOnly() fiber.Handler {
	return func(c *fiber.Ctx) error {
		ok := true
		check := func(k, v []byte) { ok = ok && ValidText(k) && ValidText(v) }
		c.Request().URI().QueryArgs().VisitAll(check)
		if !isStreamed(c) && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
			c.Request().PostArgs().VisitAll(check)
		}
		if !ok {
			return &Error{Status: fiber.StatusUnprocessableEntity, Key: "errors.invalid.text"}
		}
		return c.Next()
	}
}
