package web

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// ValidText reports whether b can be stored and shown as text: UTF-8, with
// no NUL byte (Postgres refuses both, error 22021, and no person types them).
func ValidText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// bidiControls are Unicode's embedding, override and isolate controls
// (U+202A–U+202E, U+2066–U+2069). Nobody needs to type them (right-to-left
// scripts show correctly without), and in a subject or a name they reorder
// the text around it: in the staff inbox, a subject could make another
// holder's name read backwards.
const bidiControls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

// PlainText is s without bidi controls: what the portal keeps of a
// person's text.
func PlainText(s string) string {
	if !strings.ContainsAny(s, bidiControls) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(bidiControls, r) {
			return -1
		}
		return r
	}, s)
}

// TextOnly makes every query and form field plain text before any handler
// sees it: a field that is not ValidText is refused with 422 and a
// message; bidi controls are taken out (PlainText). A streamed upload's
// parts are treated as they are read (the handler calls both), never here:
// its body must not be read whole.
func TextOnly() fiber.Handler {
	return func(c *fiber.Ctx) error {
		ok := plainArgs(c.Request().URI().QueryArgs())
		if !IsStreamed(c) && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
			ok = plainArgs(c.Request().PostArgs()) && ok
		}
		if !ok {
			return &Error{Status: fiber.StatusUnprocessableEntity, Key: "errors.invalid.text"}
		}
		return c.Next()
	}
}

// plainArgs reports whether every name and value of args is ValidText, and
// rewrites args without bidi controls, keeping repeated names and order.
func plainArgs(args *fasthttp.Args) bool {
	ok, bidi := true, false
	args.VisitAll(func(k, v []byte) {
		ok = ok && ValidText(k) && ValidText(v)
		bidi = bidi || hasBidi(k) || hasBidi(v)
	})
	if !ok || !bidi {
		return ok
	}
	var pairs [][2]string
	args.VisitAll(func(k, v []byte) { pairs = append(pairs, [2]string{PlainText(string(k)), PlainText(string(v))}) })
	args.Reset()
	for _, p := range pairs {
		args.Add(p[0], p[1])
	}
	return true
}

func hasBidi(b []byte) bool { return bytes.ContainsAny(b, bidiControls) }
