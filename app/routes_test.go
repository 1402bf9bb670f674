package app_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/gofiber/fiber/v2"

	"portal/app/apptest"
	"portal/app/jobs"
	"portal/app/web"
)

// TestEveryExceptionIsMarkedOnItsRoute lists every route that differs from
// the default (web.CSRFExempt and the others): a marker added or lost
// shows here, and each is matched on a real path as the middleware will.
func TestEveryExceptionIsMarkedOnItsRoute(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	want := map[string][]string{
		"CSRFExempt": {"POST /callbacks/voice", "POST /dev/outbox/:id/answer"},
		"UploadRoute": {"POST /staff/records/:record/documents", "POST /records/:record/messages/new",
			"POST /records/:record/messages/:thread", "POST /staff/inbox/:thread/reply"},
		"PassiveRoute": {"GET /session/status", "GET /session/timeout", "GET /records/:record/messages/:thread/stream", "GET /records/:record/messages/stream", "GET /session/device-key", "GET /manifest.webmanifest", "GET /sw.js"},
		"BeforeTerms":  {"POST /session/extend", "POST /sign-out", "GET /terms/accept", "POST /terms/accept"},
		"LateDraft":    {"POST /records/:record/messages/draft", "POST /records/:record/messages/:thread/draft", "POST /records/:record/forms/:form/pages/:page"},
		"Repeatable": {"POST /session/extend", "POST /sign-in/confirm/call/continue", "POST /profile/email/call/continue",
			"POST /profile/sign-in-methods/confirm/call/continue", "POST /profile/sign-in-methods/phone/call/continue",
			"POST /sign-in/confirm/send/status", "POST /profile/email/send/status",
			"POST /profile/sign-in-methods/confirm/send/status", "POST /profile/sign-in-methods/phone/send/status"},
	}
	markers := map[string]fiber.Handler{"CSRFExempt": web.CSRFExempt, "UploadRoute": web.UploadRoute,
		"PassiveRoute": web.PassiveRoute, "BeforeTerms": web.BeforeTerms, "LateDraft": web.LateDraft, "Repeatable": web.Repeatable}
	for name, m := range markers {
		var got []string
		for _, r := range a.Routes.Marked(m) {
			if !strings.HasPrefix(r, fiber.MethodHead+" ") { // Fiber's HEAD twin of each GET
				got = append(got, r)
			}
		}
		slices.Sort(got)
		w := slices.Clone(want[name])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("web.%s marks\n  %q\nwant\n  %q", name, got, w)
		}
	}

	cases := []struct {
		marker       fiber.Handler
		method, path string
		want         bool
	}{
		{web.UploadRoute, "POST", "/staff/records/12/documents", true},
		{web.UploadRoute, "POST", "/records/12/messages/34", true},
		{web.UploadRoute, "POST", "/records/12/messages/34/draft", false},
		{web.UploadRoute, "POST", "/Staff/Records/12/documents/", true}, // as Fiber matches it
		{web.UploadRoute, "GET", "/staff/records/12/documents", false},
		{web.UploadRoute, "POST", "/staff/records/12/documents/3", false},
		{web.UploadRoute, "POST", "/staff/records/x/documents", false},
		{web.UploadRoute, "POST", "/staff/records/12/forms", false},
		{web.CSRFExempt, "POST", "/callbacks/voice", true},
		{web.CSRFExempt, "POST", "/callbacks/voice/more", false},
		{web.CSRFExempt, "POST", "/dev/outbox/4/answer", true},
		{web.LateDraft, "POST", "/records/3/forms/8/pages/2", true},
		{web.LateDraft, "POST", "/records/3/forms/8/submit", false},
		{web.PassiveRoute, "GET", "/records/3/messages/9/stream", true},
		{web.PassiveRoute, "GET", "/records/3/messages/9", false},
		{web.BeforeTerms, "POST", "/sign-out", true},
		{web.BeforeTerms, "GET", "/profile", false},
	}
	for _, c := range cases {
		if got := a.Routes.Applies(c.marker, c.method, c.path); got != c.want {
			t.Errorf("%s %s: marked %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

// TestEveryPathNamesARoute reads every {{path "name" …}} in views/ and
// every Path("name", …) in app/: each name is a route's, given as many
// values as the route has parameters. A renamed or moved route fails
// here, not in front of someone.
func TestEveryPathNamesARoute(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	check := func(where, name string, args int) {
		n, ok := a.Routes.Params(name)
		switch {
		case !ok:
			t.Errorf("%s: no route is named %q", where, name)
		case n != args:
			t.Errorf("%s: route %q takes %d values, given %d", where, name, n, args)
		}
	}
	uses := 0
	err := filepath.WalkDir("../views", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range handBuilt.FindAllString(string(b), -1) {
			t.Errorf("%s: %s…: a link to a route comes from its name ({{path \"…\"}})", p, m)
		}
		trees, err := parse.Parse(p, string(b), "{{", "}}", map[string]any{"path": true}, builtins)
		if err != nil {
			return err
		}
		for _, tree := range trees {
			walkTemplate(tree.Root, func(cmd *parse.CommandNode) {
				if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok && id.Ident == "path" {
					uses++
					name, ok := cmd.Args[1].(*parse.StringNode)
					if !ok {
						t.Errorf("%s: path takes a route name as a string", p)
						return
					}
					check(p, name.Text, len(cmd.Args)-2)
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if ok && sel.Sel.Name == "Redirect" {
				for _, arg := range call.Args {
					if lit, isLit := arg.(*ast.BasicLit); isLit && strings.HasPrefix(lit.Value, `"/`) {
						t.Errorf("%s: Redirect to %s: a redirect comes from a route's name (Path)", p, lit.Value)
					}
				}
			}
			lit, isLit := call.Args[0].(*ast.BasicLit)
			if !ok || sel.Sel.Name != "Path" || !isLit || lit.Kind != token.STRING || call.Ellipsis.IsValid() {
				return true
			}
			name, _ := strconv.Unquote(lit.Value)
			if strings.HasPrefix(name, "/") {
				return true // not a route name
			}
			uses++
			check(p, name, len(call.Args)-1)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The jobs run without the app's route table; their links must still
	// be its paths.
	for link, name := range map[string]string{jobs.AccessEndingLink: "access.select", jobs.RetentionWarningLink: "auth.sign_in"} {
		if got := a.Routes.Path(name); got != link {
			t.Errorf("a job links to %s; route %q is %s", link, name, got)
		}
	}
	if uses < 100 {
		t.Errorf("found %d uses of route names; links and redirects should come from them", uses)
	}
}

// handBuilt finds a link, form or HTMX request written as a path.
var handBuilt = regexp.MustCompile(`(href|action|hx-get|hx-post|sse-connect)="/[^"]{0,30}`)

// builtins are text/template's own functions, for parse.Parse.
var builtins = map[string]any{"and": true, "call": true, "html": true, "index": true, "slice": true, "js": true,
	"len": true, "not": true, "or": true, "print": true, "printf": true, "println": true, "urlquery": true,
	"eq": true, "ge": true, "gt": true, "le": true, "lt": true, "ne": true}

// walkTemplate calls f for every command in a template's tree.
func walkTemplate(n parse.Node, f func(*parse.CommandNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplate(c, f)
		}
	case *parse.ActionNode:
		walkTemplate(n.Pipe, f)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkTemplate(c, f)
		}
	case *parse.CommandNode:
		f(n)
		for _, a := range n.Args {
			walkTemplate(a, f)
		}
	case *parse.IfNode:
		walkTemplate(n.Pipe, f)
		walkTemplate(n.List, f)
		walkTemplate(n.ElseList, f)
	case *parse.RangeNode:
		walkTemplate(n.Pipe, f)
		walkTemplate(n.List, f)
		walkTemplate(n.ElseList, f)
	case *parse.WithNode:
		walkTemplate(n.Pipe, f)
		walkTemplate(n.List, f)
		walkTemplate(n.ElseList, f)
	case *parse.TemplateNode:
		walkTemplate(n.Pipe, f)
	}
}

func TestMain(m *testing.M) { apptest.Main(m) }
