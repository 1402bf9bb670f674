package apptest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"portal/app/web"
)

// closeShared stops the package's browser; the harness's own tests use it so
// no Chromium profile outlives them (they run without apptest.Main).
func closeShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cancel != nil {
		shared.cancel()
	}
	shared.root, shared.cancel = nil, nil
}

func TestBrowserSeesWhatAPersonWouldAndWhatWentWrong(t *testing.T) {
	t.Cleanup(closeShared)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", web.ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		cookie := "none"
		if c, err := r.Cookie("probe"); err == nil {
			cookie = c.Value
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Probe</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<main><h1 id="h">Hello</h1><p id="cookie">%s</p>
<label for="name">Name</label><input id="name" type="text">
<p id="echo"></p><img src="/nothing.png">
<a id="next" href="/next">Next</a></main>
<script>window.inline = 1</script><script src="/app.js"></script></body></html>`, cookie)
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.getElementById('name').addEventListener('input', (e) => {
  document.getElementById('echo').textContent = e.target.value; });
console.error('boom');`)
	})
	mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Next</title><main><h1>Next</h1></main></html>`)
	})
	mux.HandleFunc("/nothing.png", http.NotFound)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := NewBrowser(t)
	b.SetCookie("probe", "yes", srv.URL)
	if status := b.Visit(srv.URL + "/"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	var width int
	b.Eval(`window.innerWidth`, &width)
	if width != PhoneWidth {
		t.Errorf("viewport width = %d, want %d", width, PhoneWidth)
	}
	if got := b.Text("#h"); got != "Hello" {
		t.Errorf("text = %q", got)
	}
	if got := b.Text("#cookie"); got != "yes" {
		t.Errorf("cookie reached the server as %q", got)
	}
	b.Fill("#name", "Ada")
	b.WaitFor(`document.getElementById('echo').textContent === 'Ada'`, b.Timeout)

	csp := b.CSPViolations()
	if len(csp) != 1 || !strings.HasPrefix(csp[0].Directive, "script-src") || csp[0].Blocked != "inline" {
		t.Errorf("CSP violations = %v, want the inline script", csp)
	}
	var boom, missing bool
	for _, e := range b.ConsoleErrors() {
		boom = boom || (e.Source == "console" && e.Text == "boom")
		missing = missing || (e.Source == "network" && strings.Contains(e.Text, "404"))
	}
	if !boom || !missing {
		t.Errorf("console errors = %v, want console.error('boom') and the missing image", b.ConsoleErrors())
	}

	vs := b.AxeViolations()
	ids := map[string]bool{}
	for _, v := range vs {
		ids[v.ID] = true
	}
	if !ids["image-alt"] {
		t.Errorf("axe found %v, want image-alt", vs)
	}

	if status := b.ClickAndWait("#next"); status != http.StatusTeapot {
		t.Errorf("next page status = %d", status)
	}
	if p := b.Path(); p != "/next" {
		t.Errorf("path = %q", p)
	}
}

func TestEachBrowserHasItsOwnCookies(t *testing.T) {
	t.Cleanup(closeShared)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("who")
		if err != nil {
			fmt.Fprint(w, `<p id="who">nobody</p>`)
			return
		}
		fmt.Fprintf(w, `<p id="who">%s</p>`, c.Value)
	}))
	t.Cleanup(srv.Close)
	a, b := NewBrowser(t), NewBrowser(t)
	a.SetCookie("who", "alice", srv.URL)
	a.Visit(srv.URL)
	b.Visit(srv.URL)
	if got := a.Text("#who"); got != "alice" {
		t.Errorf("a sees %q", got)
	}
	if got := b.Text("#who"); got != "nobody" {
		t.Errorf("b sees %q: browser contexts share cookies", got)
	}
}
