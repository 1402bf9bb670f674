package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/etag"
	"github.com/valyala/fasthttp"
)

// Revalidate gives a visitor's pages (no session) a weak ETag and answers
// 304 when the browser's copy is the same: the public pages (help, privacy)
// are the same bytes for everyone in a language, since a page without a
// form carries no token (View.CSRF). A page with a form differs every time
// (its token is masked afresh), so it never matches; a page with a session
// is the person's own and never revalidates (signed in: no-store).
func Revalidate() fiber.Handler {
	return etag.New(etag.Config{Weak: true, Next: func(c *fiber.Ctx) bool {
		return !safeMethod(c) || CurrentSession(c) != nil
	}})
}

// compressAtLeast is the smallest body worth compressing.
const compressAtLeast = 1024

// compressedTypes are the pages and fragments the portal renders.
var compressedTypes = []string{fiber.MIMETextHTML, fiber.MIMEApplicationJSON}

// Compress compresses what the portal renders (HTML pages and fragments,
// JSON) with brotli or gzip, as the browser accepts. Never a stream (live
// updates, downloads, which are already compressed or must not be held),
// never a file a handler sends as an attachment, and never a response that
// is already encoded. Static files come compressed (Assets).
//
// Security (BREACH): a compressed page that shows both a secret and text an
// attacker chose could leak the secret by its length. The one secret a page
// holds, the CSRF token, is masked afresh in every response (MaskToken), so
// no two responses carry the same bytes for it.
func Compress() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil {
			return err
		}
		res := c.Response()
		accepts := c.Get(fiber.HeaderAcceptEncoding)
		if accepts == "" || res.IsBodyStream() || len(res.Body()) < compressAtLeast ||
			len(res.Header.Peek(fiber.HeaderContentEncoding)) > 0 || len(res.Header.Peek(fiber.HeaderContentDisposition)) > 0 {
			return nil
		}
		ctype := string(res.Header.ContentType())
		ok := false
		for _, t := range compressedTypes {
			ok = ok || strings.HasPrefix(ctype, t)
		}
		if !ok {
			return nil
		}
		c.Vary(fiber.HeaderAcceptEncoding)
		switch {
		// gzip at its fastest, even for a browser that takes brotli: a page
		// is a few KB rendered anew each time, and brotli (or gzip's higher
		// levels) cost several times the CPU for a few per cent fewer bytes.
		// Static files, compressed once, are brotli at its best (Assets).
		case strings.Contains(accepts, "gzip"):
			res.SetBodyRaw(fasthttp.AppendGzipBytesLevel(nil, res.Body(), fasthttp.CompressBestSpeed))
			res.Header.Set(fiber.HeaderContentEncoding, "gzip")
		case strings.Contains(accepts, "br"):
			res.SetBodyRaw(fasthttp.AppendBrotliBytesLevel(nil, res.Body(), 2))
			res.Header.Set(fiber.HeaderContentEncoding, "br")
		}
		return nil
	}
}

// MaskToken is the CSRF token as a page carries it: a fresh random pad and
// the token XORed with it, so the same token never shows the same bytes
// twice (BREACH). CheckToken undoes it.
func MaskToken(token string) string {
	t := []byte(token)
	pad := make([]byte, len(t))
	_, _ = rand.Read(pad)
	out := make([]byte, 0, 2*len(t))
	out = append(out, pad...)
	for i := range t {
		out = append(out, t[i]^pad[i])
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// CheckToken reports whether masked (from a form or a header) is token,
// masked by MaskToken; it compares in constant time.
func CheckToken(masked, token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(masked)
	if err != nil || len(b) != 2*len(token) || len(token) == 0 {
		return false
	}
	n := len(token)
	plain := make([]byte, n)
	for i := range n {
		plain[i] = b[i] ^ b[n+i]
	}
	return subtle.ConstantTimeCompare(plain, []byte(token)) == 1
}
