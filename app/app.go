// Package app assembles the portal: Fiber's configuration, the middleware
// in order, and each feature mounted on the one route table (routes.go).
//
// Invariants:
//   - Immutable is on: Fiber must not reuse request buffers behind values a
//     handler keeps (one family's data in another's response is the worst
//     failure this service can have).
//   - Middleware order: (metrics, when on) → recover → request id → client address → access log → security
//     headers → body limit → compression → static files → locale → session
//     → revalidation (ETags, visitors only) → text only → uploads only when
//     signed in → CSRF → rate limit → idempotency keys → routes; every
//     unsafe request passes CSRF.
//   - The request body limit is small; uploads get their own streaming route.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/template/html/v2"
	"github.com/valyala/fasthttp"

	"portal/app/attachments"
	"portal/app/audit"
	"portal/app/auth"
	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/export"
	"portal/app/factors"
	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/i18n"
	"portal/app/idempotency"
	"portal/app/live"
	"portal/app/metrics"
	"portal/app/notify"
	"portal/app/queue"
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
	// Metrics, when set (METRICS_ADDR), counts requests and what the
	// features report; main serves them on their own listener. Nil: off.
	Metrics *metrics.Metrics
	// Queue is the one River client's builder (app/queue): features with
	// jobs of their own ("Download my data") add their queue to it.
	Queue *queue.Queue
	// UnsafeLimit overrides the per-IP limit on unsafe requests (tests).
	UnsafeLimit *ratelimit.Rule
	// Scanner checks every uploaded file for viruses before it is stored;
	// nil is uploads.NoScan.
	Scanner uploads.Scanner
	// Slow is how long a client may take over a request; zero values are
	// DefaultSlow's (tests shorten them).
	Slow SlowLimits
	// Heartbeat is how often a live stream re-authorises (zero is
	// live.DefaultHeartbeat; a test that counts queries lengthens it).
	Heartbeat time.Duration
}

// SlowLimits bound what a slow (or deliberately trickling) client can
// hold: a connection for a request's head, then for its body.
type SlowLimits struct {
	Head   time.Duration // the request line and headers
	Body   time.Duration // a form's body (at most BodyLimit)
	Upload time.Duration // an upload's body (at most uploadMax)
	// PerIP caps one client address's open connections. Behind Fly's proxy
	// (TRUST_FLY_CLIENT_IP) every connection comes from the proxy, so it is
	// not applied there: fly.toml's concurrency limits stand in.
	PerIP int
}

// DefaultSlow: 20 seconds for a head; 90 for a form (320 KiB at about
// 30 kbit/s); 10 minutes for an upload (a message's five 10 MiB photos at
// about 0.7 Mbit/s); 32
// connections per address (a browser opens 6; a household shares one).
var DefaultSlow = SlowLimits{Head: 20 * time.Second, Body: 90 * time.Second, Upload: 10 * time.Minute, PerIP: 32}

// App is the assembled portal: the Fiber app and the services tests reach.
type App struct {
	*fiber.App
	Sessions *web.Sessions
	Limiter  *ratelimit.Limiter
	Audit    *audit.Log
	Sealer   *seal.Sealer
	Render   *web.Renderer
	Routes   *web.Routes // the route table's markers and names
	Codes    *auth.Codes // one-time codes; the clean-up job deletes old ones
	Calls    *auth.Calls // "Call Me" challenges; likewise
	// Passkeys is the WebAuthn relying party BASE_URL names.
	Passkeys *webauthn.WebAuthn
	// Idempotency keeps the first answer to each form's key; the clean-up
	// job deletes old ones.
	Idempotency *idempotency.Store
	Forms       *forms.Store
	// Hub tells open pages of changes, across app machines (live); it
	// listens from New until Shutdown.
	Hub *live.Hub
	// Exports are "Download my data"'s files; the clean-up job deletes
	// them after export.Keep.
	Exports *export.Store

	perIP int // Serve's cap on connections per client address; 0: none
}

// New builds the portal from its dependencies; ctx bounds its start (the
// live hub's first connection, the form templates' sync) and the hub's life.
func New(ctx context.Context, d Deps) (*App, error) {
	d = d.withDefaults()
	if err := auth.CheckRegions(d.Config.PhoneRegions()); err != nil {
		return nil, err
	}
	if d.Scanner == nil && d.Config.IsProduction() {
		d.Log.Warn("uploads are not virus-scanned: no scanner is configured (app.Deps.Scanner)")
	}
	// The route table is read once every route is mounted (below); the
	// middleware and the templates' {{path "…"}} ask it from then on.
	a := &App{Routes: web.NewRoutes()}
	if err := a.startServices(ctx, d); err != nil {
		return nil, err
	}
	if err := a.observe(d); err != nil {
		a.Hub.Stop()
		return nil, err
	}
	assets, err := a.newRenderer(d)
	if err != nil {
		return nil, err
	}
	a.App = fiber.New(fiberConfig(d, a.Render.ErrorHandler(d.Log)))
	limitSlow(a.App.Server(), d.Slow, a.Routes)
	if !d.Config.TrustFlyClientIP {
		a.perIP = d.Slow.PerIP
	}
	a.useMiddleware(d, assets)
	if err := routes(a, d); err != nil {
		return nil, err
	}
	if err := a.Routes.Read(a.GetRoutes()); err != nil {
		return nil, err
	}
	return a, nil
}

// withDefaults fills what Deps may leave out.
func (d Deps) withDefaults() Deps {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Hasher == nil {
		d.Hasher = auth.NewHasher(auth.ProductionParams, auth.HashSlots())
	}
	if d.Slow == (SlowLimits{}) {
		d.Slow = DefaultSlow
	}
	if d.UnsafeLimit == nil {
		d.UnsafeLimit = &unsafeRequests
	}
	return d
}

// startServices makes what the handlers share and the tests reach, and
// starts the live hub and stores changed form templates.
func (a *App) startServices(ctx context.Context, d Deps) error {
	sealer, err := seal.New(d.Config.EncryptionKey)
	if err != nil {
		return err
	}
	key := d.Config.SessionKeyBytes()
	a.Sealer = sealer
	a.Sessions = web.NewSessions(d.DB.Gorm, d.DB.Pool, key, d.Clock, d.Config.IsProduction())
	a.Limiter = ratelimit.New(d.DB.Gorm, d.Clock, key)
	a.Audit = audit.New(d.DB.Gorm, d.Clock)
	a.Codes = auth.NewCodes(d.DB.Gorm, d.Clock, key)
	a.Calls = auth.NewCalls(d.DB.Gorm, d.Clock, key)
	a.Forms = forms.NewStore(d.DB.Gorm, d.Clock, a.Sealer)
	a.Idempotency = idempotency.NewStore(d.DB.Gorm, a.Sealer, key, d.Clock)
	service := d.Config.ServiceName
	if service == "" {
		service = d.Bundle.For("en").T("service.name")
	}
	if a.Passkeys, err = factors.NewRelyingParty(d.Config.BaseURL, service); err != nil {
		return err
	}
	a.Hub = live.NewHub(d.DB.Pool, d.Log)
	if err := a.Hub.Start(ctx); err != nil {
		return err
	}
	// Form templates are data (app/formdef/templates): each start stores
	// a changed one as a new version; forms already sent keep theirs.
	templates, err := formdef.Builtin()
	if err != nil {
		return err
	}
	return a.Forms.Sync(ctx, templates)
}

// newRenderer loads the templates and the static files' fingerprints.
func (a *App) newRenderer(d Deps) (*web.Assets, error) {
	engine := html.NewFileSystem(http.FS(d.Views), ".html")
	engine.AddFunc("path", a.Routes.Path)
	if err := engine.Load(); err != nil {
		return nil, err
	}
	assets, err := web.LoadAssets(d.Static)
	if err != nil {
		return nil, fmt.Errorf("app: static files: %w", err)
	}
	a.Render = web.NewRenderer(web.RenderDeps{Engine: web.Templates{Template: engine.Templates}, Bundle: d.Bundle,
		Sessions: a.Sessions, Routes: a.Routes, Assets: assets, Phone: d.Config.ServicePhone, Tel: d.Config.ServiceTel,
		Dev: d.Config.IsDevelopment()})
	return assets, nil
}

// fiberConfig is Fiber's configuration: see the package invariants.
func fiberConfig(d Deps, errors fiber.ErrorHandler) fiber.Config {
	return fiber.Config{
		Immutable: true,
		BodyLimit: BodyLimit,
		// Bodies are streamed so that the upload route can take a file
		// without memory; web.LimitBody keeps BodyLimit everywhere else.
		// Security: no multipart pre-parse, which would spool any size.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		// Security: a connection that drips cannot be held for ever: the
		// head must come within Slow.Head, and a body then gets its own
		// time (limitSlow).
		ReadTimeout:           d.Slow.Head,
		IdleTimeout:           90 * time.Second,
		ErrorHandler:          errors,
		DisableStartupMessage: true,
		ReadBufferSize:        16 * 1024,
		// Security: take the client address from the connection; Fly's header
		// is read by web.ClientIP only when configured.
		ProxyHeader: "",
	}
}

// useMiddleware adds the middleware, in the order the package doc gives.
func (a *App) useMiddleware(d Deps, assets *web.Assets) {
	if d.Metrics != nil {
		a.Use(d.Metrics.Middleware()) // first: it counts a panic as the 500 recover makes of it
	}
	a.Use(recover.New())
	a.Use(web.RequestIDs(), web.ClientIPs(d.Config.TrustFlyClientIP), web.AccessLog(d.Log), web.SecurityHeaders(d.Config.IsProduction()))
	a.Use(web.LimitBody(BodyLimit, uploadMax+uploadOverhead, a.Routes))
	a.Use(web.Compress())
	mountStatic(a.App, d.Static, assets)
	a.Use(web.Locale(d.Config.IsProduction()), a.Sessions.Middleware(a.Routes), web.Revalidate())
	a.Use(web.TextOnly(), web.UploadsSignedIn(), web.CSRF(a.Routes))
	a.Use(web.RateLimit(a.Limiter, *d.UnsafeLimit), a.Idempotency.Middleware(a.Routes), web.Begin)
}

// unsafeRequests limits every POST, PUT, PATCH and DELETE per client IP;
// features add tighter limits of their own (sign-in, codes).
var unsafeRequests = ratelimit.Rule{Name: "unsafe:ip", Max: 300, Window: time.Minute}

// uploadMax is the most an upload carries: a document (uploads.Limit), or a
// message's files (attachments). Each handler limits each file itself.
const uploadMax = max(uploads.Limit, attachments.MaxFiles*attachments.MaxSize)

// uploadOverhead is what an upload's form may add to its file: the other
// fields and the parts' headers.
const uploadOverhead = 1 << 20

// limitSlow gives a request with a body, once its head has come, the
// time its body may take (Serve caps connections per client address).
func limitSlow(srv *fasthttp.Server, slow SlowLimits, routes *web.Routes) {
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		path, _, _ := strings.Cut(string(h.RequestURI()), "?")
		switch {
		case h.ContentLength() == 0:
			return fasthttp.RequestConfig{} // the head's deadline stands
		case routes.Applies(web.UploadRoute, fiber.MethodPost, path):
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
