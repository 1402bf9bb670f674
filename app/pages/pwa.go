package pages

import (
	"strconv"
	"sync"

	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// The portal installs like an app (issue 16): a web app manifest, and a
// service worker (static/js/sw.js) that keeps the static files and the
// offline page, so a page that cannot be reached shows words of ours
// rather than the browser's error.
//
// Invariants:
//   - The service worker is served at /sw.js, not under /static/, so that
//     its scope is the whole site; it is revalidated every time (no-cache)
//     and it names its cache by web.Assets.Version, so a deploy that
//     changes any static file gives browsers a new worker and a new cache.
//   - It caches the fingerprinted /static/ files and the offline page, a
//     visitor's page fetched without cookies; nothing personal, no page of
//     someone signed in, no answer of an API (see sw.js).
//   - The browser asks for the manifest and the worker by itself, cookies
//     and all: neither counts as activity (web.PassiveRoute).

// themeColour is the brand colour of static/css/app.css (--app-brand) and
// of the pages' <meta name="theme-color">.
const themeColour = "#00535e"

// manifestIcons are the installed app's icons under static/images/ (made
// from favicon.svg): a size, a file and what the icon is for.
var manifestIcons = [][3]string{
	{"192x192", "images/icon-192.png", "any"},
	{"512x512", "images/icon-512.png", "any"},
	{"512x512", "images/icon-maskable-512.png", "maskable"},
}

// manifest is the web app manifest, in the language the browser asks for
// (it asks without cookies, so by Accept-Language).
func (h *Handler) manifest(c *fiber.Ctx) error {
	loc := h.render.Localizer(c)
	icons := make([]fiber.Map, len(manifestIcons))
	for i, icon := range manifestIcons {
		icons[i] = fiber.Map{"src": h.render.Assets.Path(icon[1]), "sizes": icon[0], "type": "image/png", "purpose": icon[2]}
	}
	home := h.render.Path("access.select")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Vary(fiber.HeaderAcceptLanguage, fiber.HeaderCookie)
	if err := c.JSON(fiber.Map{
		"id": home, "name": loc.T("service.name"), "short_name": loc.T("service.short_name"),
		"description": loc.T("home.lead"), "lang": loc.Lang, "dir": "ltr",
		"start_url": home, "scope": "/", "display": "standalone",
		"theme_color": themeColour, "background_color": "#ffffff", "icons": icons,
	}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/manifest+json; charset=utf-8")
	return nil
}

// serviceWorker serves static/js/sw.js under the site's root, after the
// constants it reads: its cache's name and the offline page's path.
func (h *Handler) serviceWorker(c *fiber.Ctx) error {
	body, err := h.workerSource()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(body)
}

// workerSource is made once: the route table is read only after Mount.
func (h *Handler) workerSource() ([]byte, error) {
	h.worker.once.Do(func() {
		src, ok := h.render.Assets.Source("js/sw.js")
		if !ok {
			h.worker.err = fiber.ErrNotFound
			return
		}
		head := "'use strict'\n" +
			"// Set by the portal (app/pages): the cache's name changes with any static file.\n" +
			"const CACHE = " + strconv.Quote("portal-"+h.render.Assets.Version()) + "\n" +
			"const OFFLINE = " + strconv.Quote(h.render.Path("pages.offline")) + "\n"
		h.worker.body = append([]byte(head), src...)
	})
	return h.worker.body, h.worker.err
}

// worker is the service worker's source, made on first use.
type worker struct {
	once sync.Once
	body []byte
	err  error
}

// offline is the offline page: a visitor's page, words only. The service
// worker keeps it in the language of the pages the person reads, which it
// checks by Content-Language.
func (h *Handler) offline(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentLanguage, web.Lang(c))
	return h.render.Render(c, web.Page{Template: "pages/offline", Title: "pages.offline.title", Static: true})
}
