package web

import (
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"portal/app/audit"
	"portal/app/i18n"
	"portal/app/ratelimit"
)

// ContentSecurityPolicy allows nothing inline and nothing from elsewhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// SecurityHeaders sets the headers every response carries.
func SecurityHeaders(production bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		// The same URL answers with a page or a fragment.
		h.Add("Vary", "HX-Request")
		if production {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return c.Next()
	}
}

// RequestIDs gives each request an id, shown on error pages and in logs.
func RequestIDs() fiber.Handler {
	return requestid.New(requestid.Config{Header: "X-Request-Id", ContextKey: "requestid", Generator: NewRequestID,
		// Security: never trust an id from the client; it lands in logs.
		Next: func(c *fiber.Ctx) bool { c.Request().Header.Del("X-Request-Id"); return false }})
}

// requestIDs spells ids in lower-case letters and the digits 2 to 7, easy
// to read out over the phone.
var requestIDs = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRequestID is 80 random bits as 16 characters: an id tells nothing of
// how many requests came before (a counter would), and the logs keep it
// whole (logging never redacts the request_id attribute).
func NewRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(requestIDs.EncodeToString(b))
}

// RequestID is the request's id.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}

// AccessLog logs one line per request: route, status and time, never the
// query string (it can carry an email or a code) nor any body.
func AccessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			e, _ := answer(err) // what the error handler will send
			status = e.Status
		}
		log.Info("request", "request_id", RequestID(c), "method", c.Method(),
			"route", c.Route().Path, "status", status, "ms", time.Since(start).Milliseconds())
		return err
	}
}

const langKey = "web.lang"

// Locale picks the request's language: ?lang= (remembered in a cookie),
// then the cookie, then Accept-Language.
func Locale(secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		choice := c.Query("lang")
		if choice != "" {
			SetLanguage(c, choice, secure)
		} else {
			choice = c.Cookies("lang")
		}
		c.Locals(langKey, i18n.Match(choice, c.Get(fiber.HeaderAcceptLanguage)))
		return c.Next()
	}
}

// SetLanguage remembers a language the person chose (the footer's
// switcher, their profile, their account's language at sign-in) in the
// lang cookie, for this request too. An unknown code changes nothing.
func SetLanguage(c *fiber.Ctx, lang string, secure bool) {
	if i18n.Match(lang, "") != lang {
		return
	}
	c.Cookie(&fiber.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode})
	c.Locals(langKey, lang)
}

// Lang is the request's language code.
func Lang(c *fiber.Ctx) string {
	if l, ok := c.Locals(langKey).(string); ok {
		return l
	}
	return "en"
}

// CSRF refuses every unsafe request that does not carry the session's token
// (or, without a session, the visitor's: Sessions.CSRFToken),
// in the _csrf form field (the first part of a multipart body) or, from
// HTMX, the X-CSRF-Token header. It runs
// after the session middleware. exempt names provider callbacks, which
// prove themselves by signature instead.
func CSRF(routes *Routes) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if safeMethod(c) || routes.On(c, CSRFExempt) {
			return c.Next()
		}
		// Security: a browser tells us when a request comes from another site.
		if c.Get("Sec-Fetch-Site") == "cross-site" {
			return Forbidden("errors.forbidden.csrf")
		}
		want := visitorToken(c)
		if sess := CurrentSession(c); sess != nil {
			want = sess.CSRFToken
		}
		if want == "" {
			return Forbidden("errors.forbidden.csrf")
		}
		token := c.Get("X-CSRF-Token")
		if token == "" && IsStreamed(c) {
			// Security: never c.FormValue on an upload, which would read
			// it whole to find one field.
			token = StreamedField(c, "_csrf")
		} else if token == "" {
			token = c.FormValue("_csrf") // a body LimitBody has read, small
		}
		if !CheckToken(token, want) {
			return Forbidden("errors.forbidden.csrf")
		}
		return c.Next()
	}
}

const clientIPKey = "web.clientIP"

// ClientIPs works out each request's client address once (ClientIP), for
// FromRequest and every handler (IP).
func ClientIPs(trustFly bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(clientIPKey, ClientIP(c, trustFly))
		return c.Next()
	}
}

// IP is the request's client address (ClientIPs).
func IP(c *fiber.Ctx) string {
	ip, _ := c.Locals(clientIPKey).(string)
	return ip
}

// FromRequest is e with the request's client address and id: the one way
// an audit event made in a request is built, so every one has both.
func FromRequest(c *fiber.Ctx, e audit.Event) audit.Event {
	e.IP, e.RequestID = IP(c), RequestID(c)
	return e
}

// ClientIP is the address rate limits and the audit trail use. Fly's proxy
// sets Fly-Client-IP; anywhere else the header could be forged, so it is
// read only when configured.
func ClientIP(c *fiber.Ctx, trustFly bool) string {
	if trustFly {
		if ip := c.Get("Fly-Client-IP"); ip != "" {
			return ip
		}
	}
	return c.IP()
}

// SafeRedirect returns target when it is a path on this site, else fallback.
// Security: "//evil.example" and "/\evil.example" are other sites to a browser.
func SafeRedirect(target, fallback string) string {
	if target == "" || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") ||
		strings.HasPrefix(target, "/\\") || strings.ContainsAny(target, "\r\n\t") {
		return fallback
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return target
}

// Redirect sends the browser to target after a POST: 303, or HX-Redirect
// for HTMX so the whole page changes.
func Redirect(c *fiber.Ctx, target string) error {
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", target)
		return c.SendStatus(fiber.StatusOK)
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

func safeMethod(c *fiber.Ctx) bool {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return true
	}
	return false
}

// RateLimit counts every unsafe request against rule per client IP.
func RateLimit(l *ratelimit.Limiter, rule ratelimit.Rule) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if safeMethod(c) {
			return c.Next()
		}
		ok, until, err := l.Allow(c.UserContext(), rule, IP(c))
		if err != nil {
			return err
		}
		if !ok {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(time.Until(until).Seconds())+1))
			return TooManyRequests()
		}
		return c.Next()
	}
}
