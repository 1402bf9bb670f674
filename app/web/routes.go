package web

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The route table's rules. A few middlewares must run before Fiber picks a
// route (the body limit, the session, CSRF, the terms check), yet a few
// routes differ from the rest. Each difference is stated once, next to its
// path, by one of these markers at the head of the route's handlers:
//
//	r.Post("/documents", web.UploadRoute, h.documentUpload)
//
// A marker only calls the next handler. Routes reads the markers from the
// built route table (Read), and the middleware asks it (Applies, On).
//
// Invariant: a route without a marker gets the default, which is always
// the stricter one (CSRF checked, BodyLimit, counts as activity, terms
// first, no grace after the session ends).
var (
	// CSRFExempt: the request proves itself another way (a provider's
	// signature), since it comes from outside any page of ours.
	CSRFExempt fiber.Handler = csrfExempt
	// UploadRoute: a multipart body may stream past the body limit, up to
	// the upload limit, from someone signed in (LimitBody, UploadsSignedIn).
	UploadRoute fiber.Handler = uploadRoute
	// PassiveRoute: never counts as activity, whoever calls it (the idle
	// countdown's own checks, live streams).
	PassiveRoute fiber.Handler = passiveRoute
	// BeforeTerms: open to a signed-in person who has not yet accepted the
	// terms (the terms themselves, signing out, keeping the session).
	BeforeTerms fiber.Handler = beforeTerms
	// LateDraft: a draft save the idle countdown sent before the session
	// ended may still arrive within FinalSaveGrace (Sessions.Middleware).
	LateDraft fiber.Handler = lateDraft
	// Repeatable: each repeat must run and does no harm (a poll, keeping
	// the session): an idempotency key is ignored (app/idempotency), as it
	// is on LateDraft routes.
	Repeatable fiber.Handler = repeatable
)

// Each marker is its own function (not one closure made five times, which
// would share its code pointer): Routes tells them apart by that pointer.
func csrfExempt(c *fiber.Ctx) error   { return c.Next() }
func uploadRoute(c *fiber.Ctx) error  { return c.Next() }
func passiveRoute(c *fiber.Ctx) error { return c.Next() }
func beforeTerms(c *fiber.Ctx) error  { return c.Next() }
func lateDraft(c *fiber.Ctx) error    { return c.Next() }
func repeatable(c *fiber.Ctx) error   { return c.Next() }

var markers = []fiber.Handler{CSRFExempt, UploadRoute, PassiveRoute, BeforeTerms, LateDraft, Repeatable}

// Routes is what the middleware and the pages need to know of the route
// table: which routes carry which marker, and each named route's path, so
// that links and redirects come from route names (Path) and a moved route
// moves every link to it. It is empty until Read, which the app calls once
// every route is mounted and before it serves.
type Routes struct {
	marked map[uintptr][]pattern
	named  map[string]pattern
}

// pattern is one route's method and path, split into segments.
type pattern struct {
	method   string
	segments []segment
}

// segment is a literal, or a parameter (":record<int>") with its name.
type segment struct {
	literal string
	param   string
	digits  bool // <int>: one or more ASCII digits
}

// NewRoutes returns an empty table; see Read.
func NewRoutes() *Routes { return &Routes{} }

// Read takes the app's routes (fiber.App.GetRoutes). It fails on a name
// given to two different paths, which would make Path ambiguous.
func (t *Routes) Read(routes []fiber.Route) error {
	t.marked = map[uintptr][]pattern{}
	t.named = map[string]pattern{}
	for _, r := range routes {
		p := parsePattern(r.Method, r.Path)
		if r.Name != "" {
			if old, ok := t.named[r.Name]; ok && old.String() != p.String() {
				return fmt.Errorf("web: route name %q names both %s and %s", r.Name, old, p)
			}
			if _, ok := t.named[r.Name]; !ok || r.Method != fiber.MethodHead {
				t.named[r.Name] = p
			}
		}
		for _, h := range r.Handlers {
			if m := markerOf(h); m != 0 {
				t.marked[m] = append(t.marked[m], p)
			}
		}
	}
	return nil
}

func markerOf(h fiber.Handler) uintptr {
	p := reflect.ValueOf(h).Pointer()
	for _, m := range markers {
		if reflect.ValueOf(m).Pointer() == p {
			return p
		}
	}
	return 0
}

// Applies reports whether the route a request for method and path would
// reach carries marker. path has no query string.
func (t *Routes) Applies(marker fiber.Handler, method, path string) bool {
	for _, p := range t.marked[reflect.ValueOf(marker).Pointer()] {
		if p.method == method && p.match(path) {
			return true
		}
	}
	return false
}

// On reports whether the request's route carries marker.
func (t *Routes) On(c *fiber.Ctx, marker fiber.Handler) bool {
	return t.Applies(marker, c.Method(), c.Path())
}

// Path is the path of the route named name, its parameters filled in order
// from params (integers, or strings, which are escaped). An unknown name or
// the wrong number of params is a programming error: it panics, and the
// test that every name in views/ and app/ exists catches it first.
func (t *Routes) Path(name string, params ...any) string {
	p, ok := t.named[name]
	if !ok {
		panic(fmt.Sprintf("web: no route is named %q", name))
	}
	var b strings.Builder
	n := 0
	for _, s := range p.segments {
		b.WriteByte('/')
		if s.param == "" {
			b.WriteString(s.literal)
			continue
		}
		if n >= len(params) {
			panic(fmt.Sprintf("web: route %q needs a value for :%s", name, s.param))
		}
		b.WriteString(pathValue(params[n]))
		n++
	}
	if n != len(params) {
		panic(fmt.Sprintf("web: route %q takes %d values, not %d", name, n, len(params)))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// Params is how many values Path takes for name, and whether a route is
// named so (a test checks every name used in views/ and app/).
func (t *Routes) Params(name string) (n int, ok bool) {
	p, ok := t.named[name]
	for _, s := range p.segments {
		if s.param != "" {
			n++
		}
	}
	return n, ok
}

// Marked lists the routes that carry marker, as "METHOD /path/:param".
func (t *Routes) Marked(marker fiber.Handler) []string {
	var out []string
	for _, p := range t.marked[reflect.ValueOf(marker).Pointer()] {
		out = append(out, p.method+" "+p.String())
	}
	return out
}

func pathValue(v any) string {
	switch v := v.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case *int64: // an optional id, shown only when set
		return strconv.FormatInt(*v, 10)
	case int:
		return strconv.Itoa(v)
	case string:
		return url.PathEscape(v)
	}
	panic(fmt.Sprintf("web: a route value must be an integer or a string, not %T", v))
}

func parsePattern(method, path string) pattern {
	p := pattern{method: method}
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if part == "" {
			continue
		}
		s := segment{literal: part}
		if strings.HasPrefix(part, ":") {
			name, constraint, _ := strings.Cut(part[1:], "<")
			s = segment{param: name, digits: constraint == "int>"}
		}
		p.segments = append(p.segments, s)
	}
	return p
}

// match compares path with the pattern segment by segment, as Fiber does
// for the routes here (no wildcards, no optional parameters; a trailing
// slash does not matter).
func (p pattern) match(path string) bool {
	path = strings.Trim(path, "/")
	for _, s := range p.segments {
		if path == "" {
			return false
		}
		part, rest, _ := strings.Cut(path, "/")
		switch {
		case s.param == "" && !strings.EqualFold(part, s.literal): // Fiber is case-insensitive
			return false
		case s.digits && !allDigits(part):
			return false
		}
		path = rest
	}
	return path == ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (p pattern) String() string {
	var b strings.Builder
	for _, s := range p.segments {
		b.WriteByte('/')
		if s.param != "" {
			b.WriteString(":" + s.param)
		} else {
			b.WriteString(s.literal)
		}
	}
	return b.String()
}
