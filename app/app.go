// Package app assembles the portal: Fiber's configuration, the middleware
// in order, and each feature mounted on the one route table (routes.go).
//
// Invariants:
//   - Immutable is on: Fiber must not reuse request buffers behind values a
//     handler keeps (one family's data in another's response is the worst
//     failure this service can have).
//   - Middleware order: recover → request id → client address → access log → security
//     headers → body limit → compression → static files → locale → session
//     → revalidation (ETags, visitors only) → text only → uploads only when
//     signed in → CSRF → rate limit → routes; every unsafe request passes
//     CSRF.
//   - The request body limit is small; uploads get their own streaming route.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/template/html/v2"
	"github.com/valyala/fasthttp"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/auth"
	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/i18n"
	"portal/app/live"
	"portal/app/notify"
	"portal/app/ratelimit"
	"portal/app/seal"
	"portal/app/uploads"
	"portal/app/web"
	"portal/storage"
)

// BodyLimit caps every request body but the upload route's. A form's
// 50,000-character answer, URL-encoded, can take 150 KB and more (a Welsh
// ŵ is six bytes): the limit leaves room for one such answer and the rest
// of its page, and no more, since small bodies are read whole.
const BodyLimit = 320 << 10

// Deps are everything the portal needs from outside; main and the test
// harness build them.
type Deps struct {
	Config   config.Config
	DB       *db.DB
	Store    storage.Store
	Bundle   *i18n.Bundle
	Views    fs.FS // views/
	Static   fs.FS // static/
	Clock    clock.Clock
	Log      *slog.Logger
	Hasher   *auth.Hasher
	Notifier *notify.Notifier
	// UnsafeLimit overrides the per-IP limit on unsafe requests (tests).
	UnsafeLimit *ratelimit.Rule
	// Scanner checks every uploaded file for viruses before it is stored;
	// nil is uploads.NoScan.
	Scanner uploads.Scanner
	// Slow is how long a client may take over a request; zero values are
	// DefaultSlow's (tests shorten them).
	Slow SlowLimits
}

// SlowLimits bound what a slow (or deliberately trickling) client can
// hold: a connection for a request's head, then for its body.
type SlowLimits struct {
	Head   time.Duration // the request line and headers
	Body   time.Duration // a form's body (at most BodyLimit)
	Upload time.Duration // an upload's body (at most 25 MiB)
	// PerIP caps one client address's open connections. Behind Fly's proxy
	// (TRUST_FLY_CLIENT_IP) every connection comes from the proxy, so it is
	// not applied there: fly.toml's concurrency limits stand in.
	PerIP int
}

// DefaultSlow: 20 seconds for a head; 90 for a form (320 KiB at about
// 30 kbit/s); 5 minutes for a 25 MiB upload (about 0.7 Mbit/s); 32
// connections per address (a browser opens 6; a household shares one).
var DefaultSlow = SlowLimits{Head: 20 * time.Second, Body: 90 * time.Second, Upload: 5 * time.Minute, PerIP: 32}

// App is the assembled portal: the Fiber app and the services tests reach.
type App struct {
	*fiber.App
	Sessions *web.Sessions
	Limiter  *ratelimit.Limiter
	Audit    *audit.Log
	Sealer   *seal.Sealer
	Render   *web.Renderer
	Codes    *auth.Codes // one-time codes; the clean-up job deletes old ones
	Calls    *auth.Calls // "Call Me" challenges; likewise
	Forms    *forms.Store
	// Hub tells open pages of changes, across app machines (live); it
	// listens from New until Shutdown.
	Hub *live.Hub

	perIP int // Serve's cap on connections per client address; 0: none
}

// New builds the portal from its dependencies; ctx bounds its start (the
// live hub's first connection, the form templates' sync) and the hub's life.
func New(ctx context.Context, d Deps) (*App, error) {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	engine := html.NewFileSystem(http.FS(d.Views), ".html")
	if err := engine.Load(); err != nil {
		return nil, err
	}
	sealer, err := seal.New(d.Config.EncryptionKey)
	if err != nil {
		return nil, err
	}
	a := &App{Sealer: sealer}
	a.Sessions = web.NewSessions(d.DB.Gorm, d.DB.Pool, d.Config.SessionKeyBytes(), d.Clock, d.Config.IsProduction())
	a.Sessions.FinalSave = isFinalSave
	a.Limiter = ratelimit.New(d.DB.Gorm, d.Clock, d.Config.SessionKeyBytes())
	a.Audit = audit.New(d.DB.Gorm, d.Clock)
	a.Codes = auth.NewCodes(d.DB.Gorm, d.Clock, d.Config.SessionKeyBytes())
	a.Calls = auth.NewCalls(d.DB.Gorm, d.Clock, d.Config.SessionKeyBytes())
	people := accounts.NewStore(d.DB.Gorm)
	// Form templates are data (app/formdef/templates): each start stores
	// a changed one as a new version; forms already sent keep theirs.
	templates, err := formdef.Builtin()
	if err != nil {
		return nil, err
	}
	a.Forms = forms.NewStore(d.DB.Gorm, d.Clock, a.Sealer)
	a.Hub = live.NewHub(d.DB.Pool, d.Log)
	if err := a.Hub.Start(ctx); err != nil {
		return nil, err
	}
	if err := a.Forms.Sync(ctx, templates); err != nil {
		return nil, err
	}
	a.Render = web.NewRenderer(web.Templates{Template: engine.Templates}, d.Bundle, a.Sessions, d.Config.IsDevelopment())
	a.Render.SetPhone(d.Config.ServicePhone, d.Config.ServiceTel)
	assets, err := web.LoadAssets(d.Static)
	if err != nil {
		return nil, fmt.Errorf("app: static files: %w", err)
	}
	a.Render.SetAssets(assets)
	if err := auth.CheckRegions(d.Config.PhoneRegions()); err != nil {
		return nil, err
	}
	if d.Hasher == nil {
		d.Hasher = auth.NewHasher(auth.ProductionParams, auth.HashSlots())
	}
	authH := auth.NewHandler(auth.Deps{Sessions: a.Sessions, Render: a.Render, People: people, Audit: a.Audit,
		Limiter: a.Limiter, Hasher: d.Hasher, Notifier: d.Notifier,
		Lockout: auth.NewLockout(d.DB.Gorm, d.Clock, d.Config.SessionKeyBytes()),
		Devices: auth.NewDevices(d.DB.Gorm, d.Clock, d.Config.SessionKeyBytes()),
		Codes:   a.Codes, Calls: a.Calls,
		Sealer: a.Sealer, Clock: d.Clock, Log: d.Log, Secure: d.Config.IsProduction(), Regions: d.Config.PhoneRegions()})

	if d.Scanner == nil && d.Config.IsProduction() {
		d.Log.Warn("uploads are not virus-scanned: no scanner is configured (app.Deps.Scanner)")
	}
	slow := d.Slow
	if slow == (SlowLimits{}) {
		slow = DefaultSlow
	}
	a.App = fiber.New(fiber.Config{
		Immutable: true,
		BodyLimit: BodyLimit,
		// Bodies are streamed so that the upload route can take a file
		// without memory; web.LimitBody keeps BodyLimit everywhere else.
		// Security: no multipart pre-parse, which would spool any size.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		// Security: a connection that drips cannot be held for ever: the
		// head must come within slow.Head, and a body then gets its own
		// time (limitSlow).
		ReadTimeout:           slow.Head,
		IdleTimeout:           90 * time.Second,
		ErrorHandler:          a.Render.ErrorHandler(d.Log),
		DisableStartupMessage: true,
		ReadBufferSize:        16 * 1024,
		// Security: take the client address from the connection; Fly's header
		// is read by web.ClientIP only when configured.
		ProxyHeader: "",
	})
	limitSlow(a.App.Server(), slow)
	if !d.Config.TrustFlyClientIP {
		a.perIP = slow.PerIP
	}
	a.Use(recover.New())
	a.Use(web.RequestIDs(), web.ClientIPs(d.Config.TrustFlyClientIP), web.AccessLog(d.Log), web.SecurityHeaders(d.Config.IsProduction()))
	a.Use(web.LimitBody(BodyLimit, uploads.Limit+uploadOverhead, isUpload))
	a.Use(web.Compress())
	mountStatic(a.App, d.Static, assets)
	a.Use(web.Locale(d.Config.IsProduction()), a.Sessions.Middleware(), web.Revalidate())
	a.Use(web.TextOnly(), web.UploadsSignedIn(), web.CSRF(csrfExempt))
	limit := unsafeRequests
	if d.UnsafeLimit != nil {
		limit = *d.UnsafeLimit
	}
	a.Use(web.RateLimit(a.Limiter, limit))
	routes(a, d, authH, people)
	return a, nil
}

// unsafeRequests limits every POST, PUT, PATCH and DELETE per client IP;
// features add tighter limits of their own (sign-in, codes).
var unsafeRequests = ratelimit.Rule{Name: "unsafe:ip", Max: 300, Window: time.Minute}

// csrfExempt lists provider callbacks, which prove themselves by signature
// instead of a CSRF token, and the dev outbox's simulated call answer (it
// stands in for such a callback and exists only in development).
func csrfExempt(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, "/callbacks/") || (strings.HasPrefix(p, "/dev/outbox/") && strings.HasSuffix(p, "/answer"))
}

// uploadRoute is the one route whose body may exceed BodyLimit: a worker
// sending a document (staff.documentUpload reads it as a stream).
var uploadRoute = regexp.MustCompile(`^/staff/records/[0-9]+/documents$`)

// uploadOverhead is what an upload's form may add to its file: the other
// fields and the parts' headers.
const uploadOverhead = 1 << 20

// isUpload lets a body past BodyLimit only as a well-formed multipart POST
// to the upload route (and web.UploadsSignedIn only from someone signed
// in). Security: any other large body is refused before anything reads it.
func isUpload(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodPost && uploadRoute.MatchString(c.Path()) && web.MultipartBoundary(c) != ""
}

// draftRoute matches the routes that save a draft as the person types:
// a new message, a reply, a page of a form (whose handler keeps only the
// answers when web.InGrace).
var draftRoute = regexp.MustCompile(`^/records/[0-9]+/(messages(/[0-9]+)?/draft|forms/[0-9]+/pages/[0-9]+)$`)

// isFinalSave lets a session that has just ended (web.FinalSaveGrace)
// through for one thing only: the draft save the idle countdown sent
// before the end, arriving late on a slow line.
func isFinalSave(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodPost && c.Get(web.FinalSaveHeader) == "1" && draftRoute.MatchString(c.Path())
}

// limitSlow gives a request with a body, once its head has come, the
// time its body may take (Serve caps connections per client address).
func limitSlow(srv *fasthttp.Server, slow SlowLimits) {
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		switch {
		case h.ContentLength() == 0:
			return fasthttp.RequestConfig{} // the head's deadline stands
		case h.IsPost() && uploadRoute.Match(h.RequestURI()):
			return fasthttp.RequestConfig{ReadTimeout: slow.Upload}
		}
		return fasthttp.RequestConfig{ReadTimeout: slow.Body}
	}
}

// mountStatic serves static/ at /static from memory, by fingerprint
// (web.Assets), and govuk-frontend's fonts and images at /assets, where its
// CSS expects them. They never need a session.
func mountStatic(app *fiber.App, static fs.FS, assets *web.Assets) {
	app.Use("/static", assets.Handler())
	if files, err := fs.Sub(static, "govuk/assets"); err == nil {
		app.Use("/assets", filesystem.New(filesystem.Config{Root: http.FS(files), MaxAge: 86400}))
	}
}

// Shutdown stops the app's background work and the server.
func (a *App) Shutdown(ctx context.Context) error {
	a.Hub.Stop() // ends open streams, which Shutdown would wait for
	return a.App.ShutdownWithContext(ctx)
}
