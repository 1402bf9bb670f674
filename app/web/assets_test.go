package web_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

// raw fetches path with the given Accept-Encoding and returns the answer
// and its body as sent (not decompressed).
func rawGet(t *testing.T, a *apptest.TestApp, path, encoding string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
	req.Header.Set("Accept-Encoding", encoding)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// TestAFirstLoadIsSmallAndARepeatVisitLoadsNoStaticFile: the sign-in page
// and everything it loads (style sheets, scripts, the module app.js
// imports) come compressed, at most 65 KB on the wire; every static file
// is linked by its fingerprint and cached for a year, so a repeat visit
// asks for none of them.
func TestAFirstLoadIsSmallAndARepeatVisitLoadsNoStaticFile(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	res, page := rawGet(t, a, "/sign-in", "br, gzip")
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the page is sent %q, want gzip (fastest for a page made anew)", res.Header.Get("Content-Encoding"))
	}
	total := len(page)
	_, plain := rawGet(t, a, "/sign-in", "")
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(string(plain), -1)
	if len(links) < 5 {
		t.Fatalf("the page links %d static files", len(links))
	}
	seen := map[string]bool{}
	var fetch func(path string)
	fetch = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		res, body := rawGet(t, a, path, "br, gzip")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", path, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s is cached %q, want a year, immutable", path, cc)
		}
		if strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".css") {
			if res.Header.Get("Content-Encoding") == "" {
				t.Errorf("%s is not compressed", path)
			}
			_, text := rawGet(t, a, path, "")
			for _, m := range regexp.MustCompile(`["'(](/static/[^"')]+)["')]`).FindAllStringSubmatch(string(text), -1) {
				fetch(m[1]) // a module app.js imports, by its fingerprint too
			}
		}
		total += len(body)
	}
	for _, l := range links {
		fetch(l[1])
	}
	if !seen[regexp.MustCompile(`/static/govuk/govuk-frontend\.min\.[0-9a-f]{10}\.js`).FindString(strings.Join(keys(seen), " "))] {
		t.Errorf("app.js does not import govuk-frontend by its fingerprint: %v", keys(seen))
	}
	t.Logf("first load: %d bytes in %d requests", total, len(seen)+1)
	if total > 65<<10 {
		t.Errorf("the first load is %d bytes on the wire, want at most 65 KB", total)
	}
	// The plain name still answers (an hour, with an ETag for a 304).
	res, _ = rawGet(t, a, "/static/css/app.css", "")
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == "" {
		t.Fatalf("the plain name = %d, ETag %q", res.StatusCode, res.Header.Get("ETag"))
	}
	if again, _ := rawGet(t, a, "/static/css/app.css", "", "If-None-Match", res.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("a revalidation = %d, want 304", again.StatusCode)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPagesAreCompressedAndTheirTokenNeverRepeats: pages and fragments go
// compressed; the CSRF token a page carries has fresh bytes every time
// (BREACH), and each still works.
func TestPagesAreCompressedAndTheirTokenNeverRepeats(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, p)
	res, _ := rawGet(t, a, "/help", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("a page is sent %q (Vary %q), want gzip", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}
	first := c.Get("/profile").Doc.Find(`meta[name="csrf-token"]`).AttrOr("content", "")
	second := c.Get("/profile").Doc.Find(`meta[name="csrf-token"]`).AttrOr("content", "")
	if first == "" || first == second {
		t.Fatalf("two pages carry the tokens %q and %q, want two different", first, second)
	}
	for _, token := range []string{first, second} {
		c.Header.Set("X-CSRF-Token", token)
		if res := c.Do(http.MethodPost, "/session/extend", nil, ""); res.StatusCode != http.StatusOK {
			t.Errorf("a masked token was refused: %d", res.StatusCode)
		}
	}
}

// A visitor's page without a form is the same bytes every time: no
// cookie, a weak ETag, and 304 when the browser has it. A page with a form
// never matches (its token is fresh), and a signed-in page never has one.
func TestAVisitorsPagesRevalidate(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	get := func(path, etag string, cookie *http.Cookie) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	first := get("/help", "", nil)
	tag := first.Header.Get("ETag")
	if tag == "" || len(first.Cookies()) != 0 {
		t.Fatalf("help: ETag %q, cookies %v; want an ETag and no cookie", tag, first.Cookies())
	}
	if res := get("/help", tag, nil); res.StatusCode != http.StatusNotModified {
		t.Fatalf("help again: status %d, want 304", res.StatusCode)
	}
	if res := get("/help?lang=cy", tag, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("help in Welsh with the English ETag: status %d, want 200", res.StatusCode)
	}
	signIn := get("/sign-in", "", nil)
	if res := get("/sign-in", signIn.Header.Get("ETag"), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("a page with a form revalidated: status %d", res.StatusCode)
	}
	c := a.Client(t)
	a.SignIn(t, c, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	session := &http.Cookie{Name: a.Sessions.CookieName, Value: c.Cookie(a.Sessions.CookieName)}
	if res := get("/help", "", session); res.Header.Get("ETag") != "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("signed in: ETag %q, Cache-Control %q", res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
	}
}
