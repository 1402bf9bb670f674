package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/clock"
	"portal/app/i18n"
)

// Layouts a page can sit in.
const (
	LayoutPublic   = "layouts/public"
	LayoutSignedIn = "layouts/signed_in"
	LayoutStaff    = "layouts/staff"
)

// Engine renders named templates (Templates; Fiber's html engine would
// too). The Renderer puts pages in layouts itself, through View.Content.
type Engine interface {
	Render(out io.Writer, name string, binding any, layout ...string) error
}

// Templates renders the templates Fiber's html engine parsed, directly:
// the engine's own Render holds one lock across every page with a layout
// and swaps the templates' functions on each call, so pages rendered one
// at a time, whatever the cores. Layouts are plain templates here that
// show View.Content.
type Templates struct{ *template.Template }

// Render executes template name; layouts are the Renderer's business.
func (t Templates) Render(out io.Writer, name string, binding any, _ ...string) error {
	return t.ExecuteTemplate(out, name, binding)
}

// Page is what a handler asks to show. Templates reach everything through
// View, which embeds the localizer so `.T "key"` works in every template.
type Page struct {
	Template string // e.g. "pages/home"
	Fragment string // optional: the part HTMX asks for alone, e.g. "messages/_thread"
	Layout   string // defaults to public, or signed-in when there is a person
	Title    string // message id of the <title> and <h1>
	Data     any    // the feature's own data
	Form     *Form  // values and field errors of the page's form, if any
	Status   int    // defaults to 200
	// Record frames a page of a record for its holder: the "Viewing:"
	// banner and the record's menu (left, above the content on a phone).
	Record *RecordFrame
	// Static says the template reads nothing but its language and the
	// service's settings (the public pages' words): it is rendered once
	// per language and kept. The layout around it is rendered every time.
	Static bool
	noOOB  bool // error messages are the flash region themselves
}

// RecordFrame is the record a holder's page is about.
type RecordFrame struct {
	ID      int64
	Name    string // "Ellie Smith"
	Section string // the menu's current entry: dashboard, messages, documents or forms
}

// View is the binding of every template. It embeds nothing, on purpose:
// text/template looks a promoted field up by searching the embedded
// structs on every use, and a page reads a hundred; the page's fields are
// copied in, and T and HTML call the localizer.
type View struct {
	Template string // the Page's fields
	Fragment string
	Layout   string
	Title    string
	Data     any
	Form     *Form
	Status   int
	Record   *RecordFrame
	Lang     string // the page's language code
	// Visitor: no session. A visitor's forms carry their token, and
	// nothing else of theirs posts, so the page needs none in its head.
	Visitor    bool
	Path       string // current path, without query
	RequestID  string
	Flashes    []Flash
	Viewer     *Viewer
	Idle       *IdleState
	Dev        bool
	OOB        bool // the template renders as an out-of-band swap
	Languages  []Language
	HTMXConfig string
	// Content is the page, rendered before its layout, which shows it.
	Content    template.HTML
	phone, tel string // the configured number, if any
	assets     *Assets
	routes     *Routes
	loc        *i18n.Localizer
	csrf       func() string
}

// CSRF is the token the page's forms carry, masked afresh for this
// response (BREACH: see Compress). It is made when a page first shows it:
// a visitor's page without a form sets no cookie, so it is the same bytes
// every time, and revalidates (ETags).
func (v *View) CSRF() string {
	if v.csrf == nil {
		return ""
	}
	return v.csrf()
}

// RequestKey is the hash of the request's idempotency key, which
// app/idempotency sets (SetRequestKey) on a request it lets through; ""
// without one. A store keeps it with what the request makes, under a
// unique index, so that the same request never makes it twice, even after
// its answer was lost and its key released.
func RequestKey(c *fiber.Ctx) string {
	key, _ := c.Locals(requestKeyLocal).(string)
	return key
}

// SetRequestKey is app/idempotency's.
func SetRequestKey(c *fiber.Ctx, hash string) { c.Locals(requestKeyLocal, hash) }

const requestKeyLocal = "web.request_key"

// IdempotencyField is the form field of the key that makes sending a form
// again do its work once (app/idempotency).
const IdempotencyField = "_idem"

// FormTokens are a form's hidden fields: the CSRF token, and an
// idempotency key made now, with the page, so that the same form sent
// twice (a retry on a bad line) does its work once.
func (v *View) FormTokens() (template.HTML, error) {
	key, err := RandomToken()
	if err != nil {
		return "", err
	}
	return template.HTML(`<input type="hidden" name="_csrf" value="` + template.HTMLEscapeString(v.CSRF()) +
		`"><input type="hidden" name="` + IdempotencyField + `" value="` + key + `">`), nil
}

// ViewIn is a View with nothing but a language, for text a handler builds
// outside a page (its dates, say).
func ViewIn(loc *i18n.Localizer) *View { return &View{Lang: loc.Lang, loc: loc} }

// T translates id in the page's language (i18n.Localizer.T).
func (v *View) T(id string, args ...any) string { return v.loc.T(id, args...) }

// HTML translates id whose message holds our own markup (i18n.Localizer.HTML).
func (v *View) HTML(id string, args ...any) template.HTML { return v.loc.HTML(id, args...) }

// LayoutClass names the layout for the body's class ("public", "signed_in",
// "staff"); the staff layout adds the staff navigation.
func (v *View) LayoutClass() string { return strings.TrimPrefix(v.Layout, "layouts/") }

// Under reports whether the current path is prefix or below it, so a
// navigation item stays marked on the pages of its section.
func (v *View) Under(prefix string) bool {
	return v.Path == prefix || strings.HasPrefix(v.Path, strings.TrimSuffix(prefix, "/")+"/")
}

// FieldView is one text input as views/partials/_text_field.html draws it:
// the page's view, the input's name (also its id) and label message id.
type FieldView struct {
	*View
	Name, Label, Autocomplete string
}

// Field describes a text input of the page's form for the shared partial:
// {{template "partials/_text_field" (.Field "town" "account.profile.town" "address-level2")}}.
func (v *View) Field(name, label, autocomplete string) FieldView {
	return FieldView{View: v, Name: name, Label: label, Autocomplete: autocomplete}
}

// Language is one entry of the footer's language switcher.
type Language struct {
	Code, Name string
	Current    bool
}

// Viewer is the signed-in person as the layout shows them.
type Viewer struct {
	ID    int64
	Name  string
	Staff bool
	// StaffRole is the member of staff's role ("worker", "team_manager",
	// "portal_admin"; "" for citizens): the staff navigation offers each
	// role its own pages. It decides what is shown, never what is allowed.
	StaffRole string
	// TermsAccepted is what accounts.RequireTerms checks.
	TermsAccepted bool
}

// IdleState feeds the idle countdown banner.
type IdleState struct {
	RemainingSeconds int
	CountdownSeconds int // the banner shows when this many seconds remain
	TimeoutSeconds   int
	GraceSeconds     int // a final draft save is taken this long after the end
}

// CurrentViewer is the signed-in person of the request (read with the
// session), or nil.
func CurrentViewer(c *fiber.Ctx) *Viewer {
	if s := CurrentSession(c); s.SignedIn() {
		return s.Viewer
	}
	return nil
}

// Renderer is the one place that decides full page or fragment.
type Renderer struct {
	RenderDeps
	static sync.Map // template + language → a Static page's content
}

// RenderDeps are what pages are made from.
type RenderDeps struct {
	Engine   Engine
	Bundle   *i18n.Bundle
	Sessions *Sessions
	Routes   *Routes // links and redirects (Path)
	Assets   *Assets // static/, by fingerprint
	// Phone and Tel are the council's number for urgent matters (config);
	// empty keeps the one in locales/ (service.phone, service.phone_tel).
	Phone, Tel string
	Dev        bool // development: template errors are shown in the page
}

// NewRenderer returns the renderer.
func NewRenderer(d RenderDeps) *Renderer { return &Renderer{RenderDeps: d} }

// Path is the path of the route named name (Routes.Path): handlers build
// their redirects with it, and templates their links ({{path "…" …}}).
func (r *Renderer) Path(name string, params ...any) string { return r.Routes.Path(name, params...) }

// IsFragmentRequest reports whether HTMX asked for a piece of a page: only
// when HX-Request is set and the request is neither boosted nor a history
// restore (both need the whole page).
func IsFragmentRequest(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-Boosted") != "true" &&
		c.Get("HX-History-Restore-Request") != "true"
}

// Render writes the page, or its fragment for HTMX, rendered into a buffer
// first so a template error never sends half a page.
func (r *Renderer) Render(c *fiber.Ctx, p Page) error {
	v, err := r.view(c, p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if IsFragmentRequest(c) {
		name := p.Fragment
		if name == "" {
			name = p.Template
		}
		if err := r.part(&buf, name, v, p.Static && name == p.Template); err != nil {
			return err
		}
		if !p.noOOB {
			if err := r.appendOOB(&buf, v); err != nil {
				return err
			}
		}
	} else {
		if err := r.part(&buf, p.Template, v, p.Static); err != nil {
			return err
		}
		v.Content = template.HTML(buf.String()) // #nosec: our own template's output, escaped by it
		buf.Reset()
		if err := r.Engine.Render(&buf, v.Layout, v); err != nil {
			return fmt.Errorf("render %s in %s: %w", p.Template, v.Layout, err)
		}
	}
	status := p.Status
	if status == 0 {
		status = fiber.StatusOK
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// part renders template name into buf, or a Static page's kept copy.
func (r *Renderer) part(buf *bytes.Buffer, name string, v *View, static bool) error {
	key := name + "\x00" + v.Lang
	if static {
		if s, ok := r.static.Load(key); ok {
			buf.WriteString(s.(string))
			return nil
		}
	}
	start := buf.Len()
	if err := r.Engine.Render(buf, name, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if static {
		r.static.Store(key, buf.String()[start:])
	}
	return nil
}

// appendOOB adds the flash region and the idle timer to an HTMX response as
// out-of-band swaps, so no handler does it by hand.
func (r *Renderer) appendOOB(buf *bytes.Buffer, v *View) error {
	v.OOB = true
	defer func() { v.OOB = false }()
	if err := r.Engine.Render(buf, "partials/_flash", v); err != nil {
		return fmt.Errorf("render flash: %w", err)
	}
	if v.Idle != nil {
		if err := r.Engine.Render(buf, "partials/_idle", v); err != nil {
			return fmt.Errorf("render idle: %w", err)
		}
	}
	return nil
}

// Asset is the path of static file name ("css/app.css") under its
// fingerprint, cached by browsers for a year.
func (v *View) Asset(name string) string {
	if v.assets == nil {
		return "/static/" + name
	}
	return v.assets.Path(name)
}

// IdleForms are the countdown's words for 0 to 6 minutes and seconds
// ("1 minute", "2 eiliad"), which static/js/idle.js picks from, as list
// items. They are the same on every signed-in page of a language, and
// fourteen plural forms cost go-i18n a template each: they are made once
// per language.
func (v *View) IdleForms() template.HTML {
	if f, ok := idleForms.Load(v.Lang); ok {
		return f.(template.HTML)
	}
	var b strings.Builder
	for n := range 7 {
		for _, unit := range []string{"minutes", "seconds"} {
			fmt.Fprintf(&b, `<li data-unit="%s" data-n="%d">%s</li>`, unit, n,
				template.HTMLEscapeString(v.T("idle."+unit, "Count", n)))
		}
	}
	f := template.HTML(b.String()) // #nosec: our markup, the messages escaped
	idleForms.Store(v.Lang, f)
	return f
}

var idleForms sync.Map // language → template.HTML

// idleTexts are the countdown's sentences, as data-text-* attributes of
// its banner (data-text-signed-out: idle.signed_out).
var idleTexts = []string{"countdown", "joiner", "hint", "extended", "signed_out", "failed", "draft_saved"}

// IdleTexts are the countdown banner's data-text-* attributes, which
// static/js/idle.js reads, in the page's language: made once per language.
func (v *View) IdleTexts() template.HTMLAttr {
	if a, ok := idleAttrs.Load(v.Lang); ok {
		return a.(template.HTMLAttr)
	}
	var b strings.Builder
	for i, name := range idleTexts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, `data-text-%s="%s"`, strings.ReplaceAll(name, "_", "-"), template.HTMLEscapeString(v.T("idle."+name)))
	}
	a := template.HTMLAttr(b.String()) // #nosec: our attribute names, the messages escaped
	idleAttrs.Store(v.Lang, a)
	return a
}

var idleAttrs sync.Map // language → template.HTMLAttr

// headLinks are the icon, style sheets and scripts of every page, by
// fingerprint; the page's Asset calls each one.
const headLinks = `<link rel="icon" href="{{.Asset "images/favicon.svg"}}" type="image/svg+xml">
<link rel="stylesheet" href="{{.Asset "govuk/govuk-frontend.min.css"}}">
<link rel="stylesheet" href="{{.Asset "css/app.css"}}">
<script src="{{.Asset "js/vendor/htmx-2.0.11.min.js"}}" defer></script>
<script src="{{.Asset "js/vendor/htmx-ext-sse-2.2.4.min.js"}}" defer></script>
<script src="{{.Asset "js/app.js"}}" type="module"></script>
{{if .Idle}}<script src="{{.Asset "js/idle.js"}}" type="module"></script>
<script src="{{.Asset "js/offline.js"}}" type="module"></script>
{{end}}`

var headLinksTemplate = template.Must(template.New("head").Parse(headLinks))

// HeadLinks renders headLinks, the same for every page with the same
// files (and, signed in, idle.js and offline.js): made once for each, not a URL check
// and an escape per link per page.
func (v *View) HeadLinks() (template.HTML, error) {
	key := struct {
		assets *Assets
		idle   bool
	}{v.assets, v.Idle != nil}
	if h, ok := heads.Load(key); ok {
		return h.(template.HTML), nil
	}
	var b strings.Builder
	if err := headLinksTemplate.Execute(&b, v); err != nil {
		return "", err
	}
	h := template.HTML(b.String()) // #nosec: html/template's own output
	heads.Store(key, h)
	return h, nil
}

var heads sync.Map // {assets, idle} → template.HTML

// ServicePhone is the number for urgent matters, as people read it.
func (v *View) ServicePhone() string {
	if v.phone != "" {
		return v.phone
	}
	return v.T("service.phone")
}

// ServicePhoneTel is the same number for tel: links.
func (v *View) ServicePhoneTel() string {
	if v.tel != "" {
		return v.tel
	}
	return v.T("service.phone_tel")
}

// Snapshot binds templates to this request's language and viewer, for
// content rendered after the handler has returned (a live stream, whose
// writer must not touch the request): render(name, bind) renders one
// fragment bound to bind(view), view being a copy of this request's.
func (r *Renderer) Snapshot(c *fiber.Ctx) (render func(name string, bind func(*View) any) (string, error), err error) {
	v, err := r.view(c, Page{})
	if err != nil {
		return nil, err
	}
	v.CSRF() // now: the fragments are rendered after c is gone
	return func(name string, bind func(*View) any) (string, error) {
		vv := *v
		var buf bytes.Buffer
		if err := r.Engine.Render(&buf, name, bind(&vv)); err != nil {
			return "", fmt.Errorf("render %s: %w", name, err)
		}
		return buf.String(), nil
	}, nil
}

// Localizer is the request's language, for text a handler builds outside
// a page (a PDF, for instance).
func (r *Renderer) Localizer(c *fiber.Ctx) *i18n.Localizer { return r.Bundle.For(Lang(c)) }

func (r *Renderer) view(c *fiber.Ctx, p Page) (*View, error) {
	loc := r.Bundle.For(Lang(c))
	v := &View{Template: p.Template, Fragment: p.Fragment, Layout: p.Layout, Title: p.Title, Data: p.Data,
		Form: p.Form, Status: p.Status, Record: p.Record, Lang: loc.Lang, loc: loc,
		Path: c.Path(), RequestID: RequestID(c), Dev: r.Dev,
		HTMXConfig: htmxConfig, phone: r.Phone, tel: r.Tel, assets: r.Assets, routes: r.Routes}
	for _, l := range languages {
		v.Languages = append(v.Languages, Language{Code: l.Code, Name: l.Name, Current: l.Code == loc.Lang})
	}
	v.csrf = sync.OnceValue(func() string {
		token, err := r.Sessions.CSRFToken(c)
		if err != nil {
			return "" // a form without a token is refused when posted
		}
		return MaskToken(token)
	})
	sess := CurrentSession(c)
	v.Visitor = sess == nil
	// An error page leaves the session's messages for the next page, and
	// so reads and writes no database: its error may be that it is down.
	if sess != nil && !p.noOOB {
		var err error
		if v.Flashes, err = r.Sessions.PopFlashes(c.UserContext(), sess); err != nil {
			return nil, err
		}
	}
	if sess.SignedIn() {
		v.Viewer = sess.Viewer
		remaining := int(sess.IdleDeadline().Sub(r.Sessions.clock.Now()).Seconds())
		v.Idle = &IdleState{RemainingSeconds: remaining,
			CountdownSeconds: int((IdleTimeout - IdleWarning).Seconds()), TimeoutSeconds: int(IdleTimeout.Seconds()),
			GraceSeconds: int(FinalSaveGrace.Seconds())}
		// Security: pages of a signed-in person are never stored by the browser or a proxy.
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	if v.Layout == "" {
		v.Layout = LayoutPublic
		if v.Viewer != nil {
			v.Layout = LayoutSignedIn
		}
	}
	return v, nil
}

// languages the footer offers, each named in itself.
var languages = []struct{ Code, Name string }{{"en", "English"}, {"cy", "Cymraeg"}}

// htmxConfig goes in a <meta name="htmx-config">: no eval (CSP), no inline
// indicator style (CSP), no history cache (no record data left in the
// browser's storage).
const htmxConfig = `{"allowEval":false,"includeIndicatorStyles":false,"historyCacheSize":0,"refreshOnHistoryMiss":true,"allowScriptTags":false,"selfRequestsOnly":true}`

// ErrorText is a form error's message in the page's language: with its
// own data, or the time of a lockout or limit the form carries.
func (v *View) ErrorText(e FieldError) string {
	if e.Text != "" {
		return e.Text
	}
	if len(e.Args) > 0 {
		return v.T(e.Key, e.Args...)
	}
	return v.T(e.Key, "Time", v.Form.Value("locked_until"))
}

// NavItem is one entry of the staff navigation.
type NavItem struct {
	Path, Label string
	Current     bool
}

// StaffNav lists the staff view's sections for the viewer's role (team
// pages for workers and team managers, Admin for portal admins), the
// current one marked (its path is the page's, or a prefix of it).
func (v *View) StaffNav() []NavItem {
	home := v.routes.Path("staff.home")
	items := []NavItem{{Path: home, Label: "layout.staff.home"}}
	if v.Viewer != nil && v.Viewer.StaffRole == "portal_admin" {
		items = append(items, NavItem{Path: v.routes.Path("staff.admin"), Label: "staff.admin.nav"})
	} else {
		items = append(items, NavItem{Path: v.routes.Path("staff.records"), Label: "layout.staff.records"},
			NavItem{Path: v.routes.Path("staff.activations"), Label: "layout.staff.activations"},
			NavItem{Path: v.routes.Path("staff.inbox"), Label: "layout.staff.inbox"})
	}
	for i := range items {
		p := items[i].Path
		items[i].Current = v.Path == p || (p != home && v.Under(p))
	}
	return items
}

// RecordSection is one entry of a record's menu.
type RecordSection struct{ Key, Path, Label string }

// recordSections are a record's pages, in the order of the dashboard's
// tiles: key, route name, label.
var recordSections = [][3]string{
	{"dashboard", "access.dashboard", "records.nav.dashboard"},
	{"messages", "messages.list", "records.nav.messages"},
	{"documents", "documents.list", "records.nav.documents"},
	{"forms", "forms.list", "records.nav.forms"},
}

// RecordSections lists the page's record's pages for its menu and
// dashboard.
func (v *View) RecordSections() []RecordSection {
	out := make([]RecordSection, len(recordSections))
	for i, s := range recordSections {
		out[i] = RecordSection{Key: s[0], Path: v.routes.Path(s[1], v.Record.ID), Label: s[2]}
	}
	return out
}

// Date shows a time (time.Time or *time.Time; nil shows nothing) as the day
// it is in Europe/London, in the page's language: "1 December 2026".
func (v *View) Date(t any) string {
	tt, ok := timeOf(t)
	if !ok {
		return ""
	}
	tt = tt.In(clock.London)
	return fmt.Sprintf("%d %s %d", tt.Day(), v.T(fmt.Sprintf("time.month_%d", int(tt.Month()))), tt.Year())
}

// DateTime is Date with the time of day: "1 December 2026, 14:05".
func (v *View) DateTime(t any) string {
	tt, ok := timeOf(t)
	if !ok {
		return ""
	}
	return v.Date(tt) + ", " + tt.In(clock.London).Format("15:04")
}

func timeOf(t any) (time.Time, bool) {
	switch x := t.(type) {
	case time.Time:
		return x, !x.IsZero()
	case *time.Time:
		if x == nil || x.IsZero() {
			return time.Time{}, false
		}
		return *x, true
	}
	return time.Time{}, false
}
