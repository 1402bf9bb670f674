package pages_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/web"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// get fetches path with the given Accept-Language and no cookie, as a
// browser fetches a manifest.
func get(t *testing.T, a *apptest.TestApp, path, lang string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
	req.Header.Set("Accept-Language", lang)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// TestTheManifestInstallsTheAccount: the web app manifest names the
// service in the browser's language, opens on the person's account, stands
// alone in the brand's colour, and its icons are PNGs of the sizes it says.
func TestTheManifestInstallsTheAccount(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	for _, lang := range []string{"en", "cy"} {
		res, body := get(t, a, "/manifest.webmanifest", lang)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/manifest+json") {
			t.Fatalf("%s: %d, Content-Type %q", lang, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var m struct {
			Name       string `json:"name"`
			ShortName  string `json:"short_name"`
			Lang       string `json:"lang"`
			StartURL   string `json:"start_url"`
			Display    string `json:"display"`
			ThemeColor string `json:"theme_color"`
			Icons      []struct{ Src, Sizes, Type string }
		}
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		want := a.Bundle.For(lang).T("service.name")
		if m.Name != want || m.ShortName == "" || m.Lang != lang {
			t.Errorf("%s: named %q (%q, lang %q), want %q", lang, m.Name, m.ShortName, m.Lang, want)
		}
		if m.StartURL != a.Routes.Path("access.select") || m.Display != "standalone" || m.ThemeColor != "#00535e" {
			t.Errorf("%s: start_url %q, display %q, theme_color %q", lang, m.StartURL, m.Display, m.ThemeColor)
		}
		sizes := map[string]bool{}
		for _, icon := range m.Icons {
			res, img := get(t, a, icon.Src, lang)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || icon.Type != "image/png" {
				t.Fatalf("icon %s: %d, %q", icon.Src, res.StatusCode, res.Header.Get("Content-Type"))
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("icon %s: %v", icon.Src, err)
			}
			if got := strconv.Itoa(cfg.Width) + "x" + strconv.Itoa(cfg.Height); got != icon.Sizes {
				t.Errorf("icon %s is %s, the manifest says %s", icon.Src, got, icon.Sizes)
			}
			sizes[icon.Sizes] = true
		}
		if !sizes["192x192"] || !sizes["512x512"] {
			t.Errorf("%s: icons of %v, want 192 and 512", lang, sizes)
		}
	}
}

// TestTheServiceWorkerKeepsOnlyStaticFilesAndTheOfflinePage: /sw.js is
// served at the root as JavaScript, revalidated every time, with its
// cache named by the static files' version and the offline page's path.
// Its source writes to the cache in three places only: the offline page,
// the files that page links, and fingerprinted static files, and its
// pattern for those matches nothing personal. (The offline journey checks
// what a real browser's caches hold.)
func TestTheServiceWorkerKeepsOnlyStaticFilesAndTheOfflinePage(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	res, src := get(t, a, "/sw.js", "en")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("/sw.js: %d, Content-Type %q, Cache-Control %q", res.StatusCode, res.Header.Get("Content-Type"),
			res.Header.Get("Cache-Control"))
	}
	code := string(src)
	for _, want := range []string{`const CACHE = "portal-` + a.Render.Assets.Version() + `"`, `const OFFLINE = "/offline"`} {
		if !strings.Contains(code, want) {
			t.Errorf("/sw.js lacks %s", want)
		}
	}
	writes := regexp.MustCompile(`cache\.(?:put|add|addAll)\((?:[^()]|\([^()]*\))*\)`).FindAllString(code, -1)
	want := []string{"cache.addAll(files)", "cache.put(OFFLINE, res)", "cache.put(event.request, res.clone())"}
	if strings.Join(writes, " ") != strings.Join(want, " ") {
		t.Errorf("the worker writes to its cache with %q, want only %q", writes, want)
	}
	for _, guard := range []string{
		"filter((path) => FINGERPRINTED.test(path))",                                                   // the offline page's files
		"FINGERPRINTED.test(url.pathname) && !url.search) {\n    event.respondWith(staticFile(event))", // the only caller of staticFile
		"fetch(lang ? OFFLINE + '?lang=' + encodeURIComponent(lang) : OFFLINE, { credentials: 'omit'",  // a visitor's page
	} {
		if !strings.Contains(code, guard) {
			t.Errorf("the worker no longer guards its cache with %q", guard)
		}
	}
	m := regexp.MustCompile(`const FINGERPRINTED = /(.+)/\n`).FindStringSubmatch(code)
	if m == nil {
		t.Fatal("no FINGERPRINTED pattern in /sw.js")
	}
	fingerprinted := regexp.MustCompile(m[1])
	home := a.Client(t).Get("/") // the files a page loads, by their fingerprints
	script, style := home.Doc.Find(`script[src^="/static/js/app."]`).AttrOr("src", ""), home.Doc.Find(`link[href^="/static/css/app."]`).AttrOr("href", "")
	for path, want := range map[string]bool{
		script: true, style: true, "/static/js/app.js": false, "/account": false, "/records/12/messages/3": false, "/session/device-key": false,
		"/offline": false, "/sw.js": false, "/records/12/documents/0123456789.abcdef0123.pdf": false,
	} {
		if fingerprinted.MatchString(path) != want {
			t.Errorf("the worker would keep %s: %v, want %v", path, !want, want)
		}
	}
}

// TestTheStaticVersionFollowsTheFiles: the worker's cache is named by the
// static files' version, which changes with any file.
func TestTheStaticVersionFollowsTheFiles(t *testing.T) {
	load := func(css string) string {
		a, err := web.LoadAssets(fstest.MapFS{"css/app.css": {Data: []byte(css)}, "js/app.js": {Data: []byte("x")}})
		if err != nil {
			t.Fatal(err)
		}
		return a.Version()
	}
	if load("a{}") != load("a{}") || load("a{}") == load("b{}") {
		t.Error("the version does not follow the files")
	}
}

// TestTheOfflinePageIsAVisitorsPage: /offline is a public page in the
// visitor's language, which says which (the worker follows it), with
// nothing of a session; the head of every page links the manifest and
// names the worker, and a signed-in page alone names the device key and
// loads offline.js.
func TestTheOfflinePageIsAVisitorsPage(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	for _, lang := range []string{"en", "cy"} {
		res := c.Get("/offline?lang=" + lang)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Language") != lang {
			t.Fatalf("%s: %d, Content-Language %q", lang, res.StatusCode, res.Header.Get("Content-Language"))
		}
		if got, want := res.Text("main h1"), a.Bundle.For(lang).T("pages.offline.title"); got != want {
			t.Errorf("%s: the heading is %q, want %q", lang, got, want)
		}
		if res.Doc.Find("[data-offline-page]").Length() != 1 || res.Doc.Find(`meta[name="csrf-token"]`).Length() != 0 {
			t.Errorf("%s: not a visitor's offline page", lang)
		}
	}
	if a.Bundle.For("cy").T("pages.offline.title") == a.T("pages.offline.title") {
		t.Error("the Welsh offline page is in English")
	}
	head := func(res *apptest.Response, sel, attr string) string { return res.Doc.Find(sel).AttrOr(attr, "") }
	page := c.Get("/")
	if head(page, `link[rel="manifest"]`, "href") != "/manifest.webmanifest" ||
		head(page, `meta[name="portal-service-worker"]`, "content") != "/sw.js" ||
		page.Doc.Find(`meta[name="portal-device-key"]`).Length() != 0 {
		t.Error("a visitor's page does not link the manifest and the worker alone")
	}
	a.SignIn(t, c, a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, ""))
	page = c.Get("/account")
	if head(page, `meta[name="portal-device-key"]`, "content") != "/session/device-key" ||
		page.Doc.Find(`script[src^="/static/js/offline."]`).Length() != 1 {
		t.Error("a signed-in page does not name its device key or load offline.js")
	}
}
