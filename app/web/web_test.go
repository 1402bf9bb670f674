package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/config"
	"portal/app/ratelimit"
	"portal/app/web"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	res := a.Client(t).Get("/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("home = %d", res.StatusCode)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %s", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "HX-Request") {
		t.Errorf("Vary lacks HX-Request: %v", res.Header.Values("Vary"))
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent in development over plain http")
	}
	if n := res.Doc.Find("script:not([src])").Length(); n != 0 {
		t.Errorf("page has %d inline scripts", n)
	}
}

func TestProductionSendsHSTS(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{Env: config.Production})
	if a.Client(t).Get("/").Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS in production")
	}
}

func TestOneRendererDecidesPageOrFragment(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	for _, tc := range []struct {
		name    string
		headers map[string]string
		whole   bool
	}{
		{"a plain request gets the whole page", nil, true},
		{"an HTMX request gets the fragment", map[string]string{"HX-Request": "true"}, false},
		{"a boosted request gets the whole page", map[string]string{"HX-Request": "true", "HX-Boosted": "true"}, true},
		{"a history restore gets the whole page", map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := a.Client(t)
			for k, v := range tc.headers {
				c.Header.Set(k, v)
			}
			res := c.Get("/help")
			whole := strings.Contains(res.Body, "<html")
			if whole != tc.whole {
				t.Fatalf("whole page = %v, want %v", whole, tc.whole)
			}
			if !strings.Contains(res.Body, a.T("pages.help.title")) {
				t.Fatal("the help page's content is missing")
			}
			if !tc.whole && !strings.Contains(res.Body, `id="flash"`) {
				t.Fatal("a fragment lacks the out-of-band flash region")
			}
		})
	}
}

func TestUnsafeRequestsNeedTheCSRFToken(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, person)
	c.Get("/account") // loads the token

	t.Run("without a token it is refused", func(t *testing.T) {
		res := c.Do(http.MethodPost, "/session/extend", nil, "")
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
	})
	t.Run("with a wrong token it is refused", func(t *testing.T) {
		res := c.PostForm("/session/extend", url.Values{"_csrf": {"forged"}})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
	})
	t.Run("from another site it is refused even with the token", func(t *testing.T) {
		c.Header.Set("Sec-Fetch-Site", "cross-site")
		defer c.Header.Del("Sec-Fetch-Site")
		if res := c.PostForm("/session/extend", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
	})
	t.Run("with the form token it passes", func(t *testing.T) {
		if res := c.PostForm("/session/extend", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", res.StatusCode)
		}
	})
	t.Run("with the HTMX header token it passes", func(t *testing.T) {
		c.Header.Set("X-CSRF-Token", c.CSRF())
		defer c.Header.Del("X-CSRF-Token")
		if res := c.Do(http.MethodPost, "/session/extend", nil, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", res.StatusCode)
		}
	})
}

func TestSessionTokensAreStoredOnlyAsHashes(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	a.SignIn(t, c, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	token := c.Cookie(a.Sessions.CookieName)
	if len(token) < 43 { // 32 bytes, base64url
		t.Fatalf("session token %q is shorter than 256 bits", token)
	}
	var n int
	a.DB.Gorm.Raw(`SELECT count(*) FROM sessions WHERE token_hash = convert_to(?, 'UTF8') OR encode(token_hash, 'escape') LIKE ?`,
		token, "%"+token+"%").Scan(&n)
	if n != 0 {
		t.Fatal("the raw token is in the sessions table")
	}
	a.DB.Gorm.Raw(`SELECT count(*) FROM sessions`).Scan(&n)
	if n != 1 {
		t.Fatalf("sessions = %d, want 1", n)
	}
}

// A visitor's pages write nothing (a crawler makes no session rows): their
// forms' CSRF token lives in a cookie until a form needs a session, and
// that session keeps it, so a form already on another page still posts.
func TestAVisitorsPagesWriteNoSessionAndTheirFormsStillPost(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	sessions := func() (n int) {
		a.DB.Gorm.Raw(`SELECT count(*) FROM sessions`).Scan(&n)
		return n
	}
	c := a.Client(t)
	for _, path := range []string{"/", "/sign-in", "/forgot-password", "/help"} {
		if res := c.Get(path); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
	}
	if n := sessions(); n != 0 {
		t.Fatalf("a visitor's GETs made %d session rows, want 0", n)
	}
	if c.Cookie("portal_csrf") == "" || c.Cookie(a.Sessions.CookieName) != "" {
		t.Fatal("want a CSRF cookie and no session cookie")
	}
	signInToken := c.CSRF() // the sign-in page's form, still open in a tab

	t.Run("another visitor's token is refused", func(t *testing.T) {
		other := a.Client(t)
		other.Get("/sign-in")
		c.Header.Set("X-CSRF-Token", other.CSRF())
		defer c.Header.Del("X-CSRF-Token")
		if res := c.Do(http.MethodPost, "/sign-in", nil, ""); res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
	})
	t.Run("a form that needs a session makes one, with the visitor's token", func(t *testing.T) {
		c.Get("/forgot-password")
		if res := c.PostForm("/forgot-password/send", url.Values{"email": {"someone@example.net"}}); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
		if n := sessions(); n != 1 {
			t.Fatalf("sessions = %d, want 1", n)
		}
		c.Header.Set("X-CSRF-Token", signInToken)
		defer c.Header.Del("X-CSRF-Token")
		res := c.Do(http.MethodPost, "/sign-in", strings.NewReader("email=someone%40example.net&password=x"),
			"application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("the sign-in form of before: status %d, want 422 (its token still good)", res.StatusCode)
		}
	})
}

func TestIdleTimeoutAndAbsoluteLifetime(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")

	t.Run("14 minutes 59 seconds idle is still signed in", func(t *testing.T) {
		c := a.Client(t)
		a.SignIn(t, c, person)
		a.Clock.Advance(14*time.Minute + 59*time.Second)
		if res := c.Get("/account"); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("15 minutes idle is signed out and told why", func(t *testing.T) {
		c := a.Client(t)
		a.SignIn(t, c, person)
		a.Clock.Advance(15 * time.Minute)
		res := c.Get("/account")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/session/timeout" {
			t.Fatalf("status %d location %q", res.StatusCode, res.Header.Get("Location"))
		}
		page := c.Get("/session/timeout")
		if !strings.Contains(page.Body, a.T("auth.timed_out.title")) {
			t.Fatal("the timeout page does not say why")
		}
	})
	t.Run("activity keeps the session until the 12-hour limit", func(t *testing.T) {
		c := a.Client(t)
		a.SignIn(t, c, person)
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
			a.Clock.Advance(10 * time.Minute)
			if res := c.Get("/account"); res.StatusCode != http.StatusOK {
				t.Fatalf("signed out after %v of activity", elapsed)
			}
		}
		a.Clock.Advance(10 * time.Minute)
		if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("still signed in after 12 hours: %d", res.StatusCode)
		}
	})
}

func TestPollingIsNotActivity(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, person)
	c.Header.Set("X-Portal-Passive", "1")
	for i := 0; i < 14; i++ {
		a.Clock.Advance(time.Minute)
		c.Get("/session/status")
		c.Get("/account")
	}
	res := c.Get("/session/status")
	if !strings.Contains(res.Body, `"remaining":60`) {
		t.Fatalf("passive requests extended the session: %s", res.Body)
	}
	a.Clock.Advance(time.Minute)
	if res := c.Get("/session/status"); !strings.Contains(res.Body, `"signed_in":false`) {
		t.Fatalf("session outlived 15 idle minutes: %s", res.Body)
	}
}

func TestStaySignedInExtends(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, person)
	page := c.Get("/account")
	if page.Doc.Find("#idle-banner").Length() != 1 {
		t.Fatal("a signed-in page has no idle banner")
	}
	a.Clock.Advance(12 * time.Minute)
	res := c.PostForm("/session/extend", nil)
	if !strings.Contains(res.Body, `"remaining":900`) {
		t.Fatalf("extend = %s", res.Body)
	}
	a.Clock.Advance(14 * time.Minute)
	if res := c.Get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("signed out 14 minutes after Stay signed in: %d", res.StatusCode)
	}
}

func TestTwoTabsShareOneDeadline(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	tab1 := a.Client(t)
	a.SignIn(t, tab1, person)
	tab2 := a.Client(t)
	tab2.SetCookie(a.Sessions.CookieName, tab1.Cookie(a.Sessions.CookieName))
	tab1.Get("/account")
	a.Clock.Advance(14 * time.Minute)
	tab2.Get("/account") // activity in the other tab
	a.Clock.Advance(2 * time.Minute)
	// tab1's countdown reached zero; the server knows tab2 kept it alive.
	res := tab1.Get("/session/timeout")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("timeout with a live session: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestSignOutEndsTheSessionAndClearsTheBrowser(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, person)
	c.Get("/account")
	res := c.PostForm("/sign-out", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out = %d", res.StatusCode)
	}
	if !strings.Contains(res.Header.Get("Clear-Site-Data"), `"cache"`) {
		t.Fatalf("Clear-Site-Data = %q", res.Header.Get("Clear-Site-Data"))
	}
	if res := c.Get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("still signed in after sign out: %d", res.StatusCode)
	}
	var n int
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'session.signed_out' AND actor_id = ?`, person.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("sign-out audit events = %d", n)
	}
}

func TestSignedInPagesAreNeverCached(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	c := a.Client(t)
	a.SignIn(t, c, person)
	if cc := c.Get("/account").Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control = %q", cc)
	}
}

func TestErrorPagesAreTranslatedAndCarryTheRequestID(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	if res := c.Get("/no-such-page"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
		t.Fatalf("an anonymous visitor to an unknown page = %d %q, want the sign-in page", res.StatusCode, res.Header.Get("Location"))
	}
	a.SignIn(t, c, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	res := c.Get("/no-such-page")
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", res.StatusCode)
	}
	id := res.Header.Get("X-Request-Id")
	if id == "" || !strings.Contains(res.Body, id) {
		t.Fatal("the 404 page does not show the request id")
	}
	// Random, not a count: 80 bits, and no two alike.
	ids := map[string]bool{id: true}
	for range 50 {
		next := c.Get("/no-such-page").Header.Get("X-Request-Id")
		if len(next) != 16 || ids[next] || strings.HasPrefix(next, id[:8]) {
			t.Fatalf("request ids %q then %q: want 16 random characters each", id, next)
		}
		ids[next] = true
	}
	if !strings.Contains(res.Body, a.T("errors.not_found.title")) {
		t.Fatal("the 404 page lacks its title")
	}
	cy := c.Get("/no-such-page?lang=cy")
	if !strings.Contains(cy.Body, a.Bundle.For("cy").T("errors.not_found.title")) || !strings.Contains(cy.Body, `lang="cy"`) {
		t.Fatal("the Welsh 404 is not Welsh")
	}
	c.Get("/no-such-page?lang=en")
	c.Header.Set("HX-Request", "true")
	hx := c.Get("/no-such-page")
	if hx.Header.Get("HX-Retarget") != "#flash" || strings.Contains(hx.Body, "<html") {
		t.Fatalf("an HTMX error does not land in the flash region: %q", hx.Header.Get("HX-Retarget"))
	}
}

func TestLanguageChoiceIsRemembered(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	c.Get("/?lang=cy")
	res := c.Get("/help")
	if !strings.Contains(res.Body, a.Bundle.For("cy").T("pages.help.title")) {
		t.Fatal("the Welsh choice was not remembered")
	}
	c2 := a.Client(t)
	c2.Header.Set("Accept-Language", "cy-GB,cy;q=0.9")
	if !strings.Contains(c2.Get("/").Body, `lang="cy"`) {
		t.Fatal("Accept-Language cy is ignored")
	}
}

func TestBodiesOverTheLimitAre413(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	c.Get("/")
	if status := c.AnnounceBody(a, http.MethodPost, "/sign-out", "application/x-www-form-urlencoded", app.BodyLimit+1); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
}

func TestTwoAppMachinesShareSessionsAndLimits(t *testing.T) {
	key := config.RandomKey()
	rule := ratelimit.Rule{Name: "unsafe:ip", Max: 4, Window: time.Minute}
	tune := func(d *app.Deps) { d.Config.SessionKey = key; d.UnsafeLimit = &rule }
	a := apptest.NewApp(t, apptest.Options{Tune: tune})
	b := apptest.NewApp(t, apptest.Options{DSN: a.DSN, Tune: tune})
	b.Clock.Set(a.Clock.Now())
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")

	ca := a.Client(t)
	a.SignIn(t, ca, person)
	cb := b.Client(t)
	cb.SetCookie(b.Sessions.CookieName, ca.Cookie(a.Sessions.CookieName))
	if res := cb.Get("/account"); res.StatusCode != http.StatusOK {
		t.Fatalf("machine B does not know machine A's session: %d", res.StatusCode)
	}
	ca.Get("/account")
	codes := []int{}
	for i := 0; i < 6; i++ {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		codes = append(codes, c.PostForm("/session/extend", nil).StatusCode)
	}
	want := "200 200 200 200 429 429"
	if got := ints(codes); got != want {
		t.Fatalf("statuses across two machines = %s, want %s", got, want)
	}
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

func TestSafeRedirect(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/account", "/account"},
		{"/records/1?tab=forms", "/records/1?tab=forms"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"", "/"},
		{"/ok\r\nSet-Cookie: x", "/"},
	} {
		t.Run("target="+tc.in, func(t *testing.T) {
			if got := web.SafeRedirect(tc.in, "/"); got != tc.want {
				t.Fatalf("SafeRedirect(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRotateIssuesANewTokenAndCSRF(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	person := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	old, err := a.Sessions.Start(context.Background(), person.ID, web.AAL1)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := a.Sessions.Load(context.Background(), old)
	bare := fiber.New()
	bare.Use(a.Sessions.Middleware(web.NewRoutes()))
	bare.Get("/", func(c *fiber.Ctx) error {
		_, err := a.Sessions.Rotate(c, person.ID, web.AAL2)
		return err
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: a.Sessions.CookieName, Value: old})
	res, err := bare.Test(req, -1) // no timeout: under -race the session work can take over a second
	if err != nil {
		t.Fatal(err)
	}
	var fresh string
	for _, ck := range res.Cookies() {
		if ck.Name == a.Sessions.CookieName {
			fresh = ck.Value
		}
	}
	if fresh == "" || fresh == old {
		t.Fatal("rotation kept the token")
	}
	if s, _ := a.Sessions.Load(context.Background(), old); s != nil {
		t.Fatal("the old token still works")
	}
	after, _ := a.Sessions.Load(context.Background(), fresh)
	if after == nil || after.AAL != web.AAL2 || after.CSRFToken == before.CSRFToken {
		t.Fatalf("rotated session = %+v", after)
	}
}

func TestFlyClientIPIsTrustedOnlyWhenConfigured(t *testing.T) {
	rule := ratelimit.Rule{Name: "unsafe:ip", Max: 1, Window: time.Minute}
	for _, trust := range []bool{false, true} {
		t.Run("trust="+strconv.FormatBool(trust), func(t *testing.T) {
			a := apptest.NewApp(t, apptest.Options{Tune: func(d *app.Deps) {
				d.UnsafeLimit = &rule
				d.Config.TrustFlyClientIP = trust
			}})
			statuses := []int{}
			for _, ip := range []string{"203.0.113.1", "203.0.113.2"} {
				c := a.Client(t)
				c.Header.Set("Fly-Client-IP", ip)
				c.Get("/sign-in") // a page with a form: the visitor's token
				statuses = append(statuses, c.PostForm("/sign-out", nil).StatusCode)
			}
			// Trusted, the two addresses are two clients, each within its limit;
			// untrusted, the header is ignored and both share the loopback's.
			second := statuses[1] == http.StatusTooManyRequests
			if second == trust {
				t.Fatalf("statuses %v with trust=%v", statuses, trust)
			}
		})
	}
}

// A public page's words are rendered once per language and kept (Static):
// each language still gets its own, and the layout around them is each
// request's (signed in, the person's name and the countdown).
func TestAStaticPageKeepsOneCopyPerLanguage(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	for _, tc := range []struct{ path, intro string }{
		{"/help?lang=en", "This page explains how to set up"},
		{"/help?lang=cy", "Mae’r dudalen hon yn esbonio"},
		{"/help?lang=en", "This page explains how to set up"},
	} {
		res := c.Get(tc.path)
		if text := res.Doc.Find("main").Text(); !strings.Contains(text, tc.intro) {
			t.Fatalf("%s: the page does not say %q", tc.path, tc.intro)
		}
	}
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.SignIn(t, c, p)
	res := c.Get("/help?lang=en")
	if !strings.Contains(res.Doc.Find("main").Text(), "This page explains how to set up") ||
		res.Doc.Find("#idle-banner").Length() != 1 || !strings.Contains(res.Doc.Find("header").Text(), p.GivenName) {
		t.Fatal("signed in, the kept words are not in the signed-in layout")
	}
}
