package apptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"portal/app/accounts"
	"portal/app/web"
)

// Phone sizes every page must work at: a common phone, and the narrowest
// screen WCAG's reflow criterion (1.4.10) asks for.
const (
	PhoneWidth   = 375
	PhoneHeight  = 812
	NarrowWidth  = 320
	browserWait  = 15 * time.Second // the longest any one browser step may take
	axeWait      = 2 * time.Minute  // the longest one axe run may take
	reportBridge = "__portalReport" // Runtime binding the injected probe reports through
)

// AxeTags are the rule sets Browser.Axe runs: WCAG 2.0, 2.1 and 2.2, A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// Browser is one test's tab in headless Chromium, in a browser context of its
// own (like an incognito window: no cookies, storage or cache shared with
// another test). The Chromium process itself is shared by the test package
// and started on first use; it dies with the test binary.
//
// Every method fails the test (t.Fatal) on error and waits at most Timeout;
// none sleeps. Pages' console errors, uncaught exceptions and Content
// Security Policy violations are collected from the moment the tab opens.
type Browser struct {
	t testing.TB
	*tab
}

type tab struct {
	ctx     context.Context
	Timeout time.Duration // per step; default 15 s

	mu      sync.Mutex
	console []ConsoleEntry
	csp     []CSPViolation
	events  []PageEvent
	axeSrc  string

	clockOffset time.Duration         // how far AdvanceClock moved the pages' clock
	clockScript page.ScriptIdentifier // the new-document script that applies it
}

// PageEvent is a DOM event a page dispatched on window, recorded by
// RecordEvents; it survives the page navigating away (or clearing its
// storage) because it is kept in Go.
type PageEvent struct {
	Name string `json:"name"`
	Page string `json:"page"` // the URL of the page that dispatched it
}

// ConsoleEntry is one message of the page's console, an uncaught exception
// or an entry of the browser's own log (failed loads, security messages).
type ConsoleEntry struct {
	Level  string // "error", "warning", "info", "log", "debug"
	Source string // "console", "exception", or the browser log's source ("network", "security", …)
	Text   string
	URL    string
	Line   int64
}

func (e ConsoleEntry) String() string {
	s := fmt.Sprintf("[%s %s] %s", e.Source, e.Level, e.Text)
	if e.URL != "" {
		s += fmt.Sprintf(" (%s:%d)", e.URL, e.Line+1)
	}
	return s
}

// CSPViolation is one securitypolicyviolation event of a page.
type CSPViolation struct {
	Directive string `json:"directive"` // the effective directive, e.g. "script-src-elem"
	Blocked   string `json:"blocked"`   // the blocked URI, or "inline" / "eval"
	Source    string `json:"source"`    // the file that caused it, if known
	Line      int    `json:"line"`
	Sample    string `json:"sample"` // the first characters of an inline script or style
	Page      string `json:"page"`
}

func (v CSPViolation) String() string {
	return fmt.Sprintf("%s blocked %q on %s (source %s:%d, sample %q)", v.Directive, v.Blocked, v.Page,
		v.Source, v.Line, v.Sample)
}

// AxeViolation is one axe-core rule that failed, with the elements failing it.
type AxeViolation struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	URL    string    `json:"helpUrl"`
	Nodes  []AxeNode `json:"nodes"`
}

// AxeNode is one element failing an axe rule.
type AxeNode struct {
	Target  []any  `json:"target"` // CSS selectors (nested arrays inside shadow roots)
	HTML    string `json:"html"`
	Summary string `json:"summary"`
}

// probeJS runs in every document before the page's own scripts. It reports
// CSP violations through the Runtime binding. DevTools-injected scripts are
// not subject to the page's CSP, so the probe itself causes none.
const probeJS = `(() => {
  const send = (v) => { try { window.` + reportBridge + `(JSON.stringify(v)); } catch (e) {} };
  document.addEventListener('securitypolicyviolation', (e) => send({kind: 'csp', data: {
    directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample, page: document.location.href}}), true);
})();`

var shared struct {
	mu     sync.Mutex
	root   context.Context // a chromedp context holding the running browser
	cancel context.CancelFunc
}

// ChromiumPath finds Debian's Chromium. Tests never download a browser.
func ChromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found on PATH: apt-get install chromium")
}

// sharedRoot returns the package's running browser, starting it (again, if
// it died) when needed.
func sharedRoot(t testing.TB) context.Context {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.root != nil {
		if shared.root.Err() == nil {
			return shared.root
		}
		shared.cancel() // it died: clean up and start another
	}
	path, err := ChromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	// The profile lives beside the package's Postgres cluster, which
	// apptest.Main removes at the end of the run; Chromium itself is killed
	// with the test binary (the allocator sets Pdeathsig).
	base := ""
	if cluster != nil {
		base = filepath.Dir(cluster.Dir)
	}
	profile, err := os.MkdirTemp(base, "chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Flag("hide-scrollbars", true),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	root, rootCancel := chromedp.NewContext(allocCtx)
	// The first Do starts the browser and ties it to root, so it cannot take
	// a timeout of its own; wait for it here instead.
	if err := within(30*time.Second, func() error { return chromedp.Do(root) }); err != nil {
		rootCancel()
		allocCancel()
		os.RemoveAll(profile)
		t.Fatalf("apptest: start chromium (%s): %v", path, err)
	}
	shared.root = root
	shared.cancel = func() { rootCancel(); allocCancel(); os.RemoveAll(profile) }
	return root
}

// within runs f, giving up waiting for it after d.
func within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer after %v", d)
	}
}

// NewBrowser opens a tab for t in a fresh browser context, sized like a phone
// (375×812, mobile viewport rules). The context is disposed of when t ends.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	root := sharedRoot(t)
	tb := &tab{Timeout: browserWait}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.onEvent))
	t.Cleanup(cancel)
	tb.ctx = ctx
	b := &Browser{t: t, tab: tb}
	// The first Do opens the tab and ties its event loop to the context it
	// is given, so it gets ctx itself, not a step's timeout.
	if err := within(30*time.Second, func() error { return chromedp.Do(ctx) }); err != nil {
		cancel()
		t.Fatalf("browser: open tab: %v", err)
	}
	b.do("open tab", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, runtime.AddBinding, runtime.AddBindingParams{Name: reportBridge}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: probeJS})
		return err
	}))
	b.Phone()
	t.Cleanup(func() {
		if dir := os.Getenv("PORTAL_BROWSER_ARTIFACTS"); dir != "" && t.Failed() {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
			b.saveArtifacts(filepath.Join(dir, name))
		}
	})
	return b
}

// For returns the same tab reporting to t (a subtest's t must be the one
// that fails).
func (b *Browser) For(t testing.TB) *Browser { return &Browser{t: t, tab: b.tab} }

// Context is the tab's chromedp context, for anything the helpers lack.
func (b *Browser) Context() context.Context { return b.ctx }

func (b *Browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.Timeout)
}

func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v (page %s)%s", what, err, b.where(), b.problems())
	}
}

// problems lists the page's recent console errors and CSP violations, to
// explain a step that failed (a script that died never shows the banner).
func (b *Browser) problems() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for _, e := range b.console {
		if e.Level == "error" {
			lines = append(lines, "console: "+e.String())
		}
	}
	for _, v := range b.csp {
		lines = append(lines, "CSP: "+v.String())
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "\n  the page reported:\n    " + strings.Join(lines, "\n    ")
}

// where is the current URL, for error messages; it never fails.
func (b *Browser) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

// Viewport sets the window size with mobile viewport rules (the page's
// <meta name="viewport"> applies, scrollbars overlay the page).
func (b *Browser) Viewport(width, height int64) {
	b.t.Helper()
	b.do(fmt.Sprintf("viewport %dx%d", width, height), chromedp.EmulateViewport(width, height, chromedp.EmulateMobile))
}

// NoScript turns the page's JavaScript off (or back on), to prove a
// journey works without it; the test's own Eval still runs.
func (b *Browser) NoScript(off bool) {
	b.t.Helper()
	b.do("scripts off", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
		return err
	}))
}

// Throttle makes the tab's connection a poor mobile one: every answer
// waits at least latency, and bodies go up and come down at kbps kilobits
// a second. Throttle(0, 0) ends it.
func (b *Browser) Throttle(latency time.Duration, kbps int) {
	b.t.Helper()
	rate := float64(kbps) * 1000 / 8
	if kbps == 0 {
		rate = -1
	}
	b.do("throttle", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Latency: float64(latency.Milliseconds()),
				DownloadThroughput: rate, UploadThroughput: rate}}})
		return err
	}))
}

// Offline cuts the tab off the network (true) or puts it back (false), as
// losing signal does: requests fail, the service worker's too, and
// navigator.onLine follows, with its offline and online events. Putting it
// back also ends any Throttle.
func (b *Browser) Offline(off bool) {
	b.t.Helper()
	b.do("offline", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		var rules []*network.Conditions
		if off {
			rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
		}
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &off, MatchedNetworkConditions: rules}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off,
			DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// Phone sets the viewport to 375×812.
func (b *Browser) Phone() { b.t.Helper(); b.Viewport(PhoneWidth, PhoneHeight) }

// Narrow sets the viewport to 320 px wide, the reflow minimum.
func (b *Browser) Narrow() { b.t.Helper(); b.Viewport(NarrowWidth, PhoneHeight) }

// Visit loads url, waits for its load event and returns the HTTP status of
// the document (after redirects).
func (b *Browser) Visit(url string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.t.Fatalf("browser: visit %s: %v", url, err)
	}
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// Reload reloads the page and waits for it to load.
func (b *Browser) Reload() {
	b.t.Helper()
	b.do("reload", chromedp.Reload())
}

// Click clicks the first visible element matching the CSS selector.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// ClickAndWait clicks an element that leads to another page, waits for that
// page to load and returns its HTTP status.
func (b *Browser) ClickAndWait(sel string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("browser: click %s and wait for the next page: %v (page %s)", sel, err, b.where())
	}
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// EvalAndWait evaluates a script that leads to another page (a form's
// native submit(), bypassing the page's own submit handler), waits for that
// page to load and returns its HTTP status.
func (b *Browser) EvalAndWait(expr string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](expr))
	if err != nil {
		b.t.Fatalf("browser: eval %s and wait for the next page: %v (page %s)", short(expr), err, b.where())
	}
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// Fill replaces the value of a text field by typing into it, so the page's
// input and keyboard listeners run as they would for a person.
func (b *Browser) Fill(sel, text string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible))
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.select && e.select(); e.value = ''; })()`,
		jsString(sel)), nil)
	b.do("fill "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// Type types text at the end of a field's value, key by key, keeping what
// is there (Fill replaces it), to watch a page react as a person types.
func (b *Browser) Type(sel, text string) {
	b.t.Helper()
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// Text is the rendered text (innerText) of the first element matching sel,
// with whitespace folded; it waits for the element to exist.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v (page %s)", sel, err, b.where())
	}
	return strings.Join(strings.Fields(s), " ")
}

// Attr is an attribute of the first element matching sel ("" when absent).
func (b *Browser) Attr(sel, name string) string {
	b.t.Helper()
	var v *string
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.getAttribute(%s) : null; })()`,
		jsString(sel), jsString(name)), &v)
	if v == nil {
		return ""
	}
	return *v
}

// Exists reports whether an element matches sel now (no wait).
func (b *Browser) Exists(sel string) bool {
	b.t.Helper()
	var ok bool
	b.Eval(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel)), &ok)
	return ok
}

// Visible reports whether the first element matching sel is rendered and
// not hidden now (no wait).
func (b *Browser) Visible(sel string) bool {
	b.t.Helper()
	var ok bool
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s);
	  return !!e && !e.closest('[hidden]') && e.checkVisibility({visibilityProperty: true}) &&
	    e.getClientRects().length > 0; })()`, jsString(sel)), &ok)
	return ok
}

// WaitVisible waits until an element matching sel is visible.
func (b *Browser) WaitVisible(sel string) {
	b.t.Helper()
	b.do("wait until visible "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitNotVisible waits until the element matching sel is hidden or gone.
func (b *Browser) WaitNotVisible(sel string) {
	b.t.Helper()
	b.WaitFor(fmt.Sprintf(`(() => { const e = document.querySelector(%s);
	  return !e || !!e.closest('[hidden]') || !e.checkVisibility({visibilityProperty: true}); })()`, jsString(sel)),
		b.Timeout)
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its JSON value into out (nil ignores it).
func (b *Browser) Eval(expr string, out any) {
	b.t.Helper()
	if err := b.eval(b.Timeout, expr, out); err != nil {
		b.t.Fatalf("browser: eval %s: %v (page %s)", short(expr), err, b.where())
	}
}

func (b *Browser) eval(timeout time.Duration, expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if out == nil {
		return chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](expr, chromedp.EvalAwaitPromise))
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		raw = []byte("null")
	}
	return json.Unmarshal(raw, out)
}

// WaitFor polls a JavaScript expression until it is truthy on a page that
// has finished loading, for at most timeout. It keeps polling through
// navigations, so it can wait for the page to move on by itself; waiting
// for the load too means the next step does not read a page mid-swap.
func (b *Browser) WaitFor(expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		var ok bool
		err := b.eval(2*time.Second, "document.readyState === 'complete' && !!("+expr+")", &ok)
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: waited %v for %s (last error: %v, page %s)%s", timeout, short(expr), last,
				b.where(), b.problems())
		}
		select {
		case <-b.ctx.Done():
			b.t.Fatalf("browser: tab closed while waiting for %s", short(expr))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Location is the page's current URL.
func (b *Browser) Location() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("browser: location: %v", err)
	}
	return loc
}

// Path is the path of the page's current URL.
func (b *Browser) Path() string {
	b.t.Helper()
	var p string
	b.Eval(`document.location.pathname`, &p)
	return p
}

// Screenshot saves a PNG of the whole page, for a person debugging a test.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// saveArtifacts writes a screenshot and the DOM of a failed test's page
// (only when PORTAL_BROWSER_ARTIFACTS names a directory).
func (b *Browser) saveArtifacts(prefix string) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return
	}
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(prefix+".png", buf, 0o644)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		_ = os.WriteFile(prefix+".html", []byte(html), 0o644)
	}
}

// SetCookie sets a cookie for url in this tab's browser context (HttpOnly,
// path /, SameSite=Lax, like the portal's own).
func (b *Browser) SetCookie(name, value, url string) {
	b.t.Helper()
	b.do("set cookie "+name, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: url,
			Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteLax})
		return err
	}))
}

// SetFiles chooses files for the file input sel, as a person picking them
// in the browser's dialog would.
func (b *Browser) SetFiles(sel string, paths ...string) {
	b.t.Helper()
	b.do("choose files for "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), paths, chromedp.NodeReady))
}

// AllowDownloads saves what the tab downloads in dir, under the names the
// server gives (Content-Disposition).
func (b *Browser) AllowDownloads(dir string) {
	b.t.Helper()
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
		return err
	}))
}

// SignInBrowser gives the browser a session for person at AAL2, as if they
// had passed both factors.
func (a *TestApp) SignInBrowser(t testing.TB, b *Browser, person *accounts.Person) {
	t.Helper()
	a.SignInBrowserAt(t, b, person, a.URL)
}

// SignInBrowserAt is SignInBrowser for a browser that visits the app at
// base (LocalhostURL, say): a cookie belongs to a host name, so the
// session's cookie is set for base's.
func (a *TestApp) SignInBrowserAt(t testing.TB, b *Browser, person *accounts.Person, base string) {
	t.Helper()
	token, err := a.Sessions.Start(context.Background(), person.ID, web.AAL2)
	if err != nil {
		t.Fatal(err)
	}
	b.SetCookie(a.Sessions.CookieName, token, base)
}

// Axe runs axe-core (WCAG 2.0–2.2 A and AA rules) on the current page and
// fails t with every violation: rule, impact, help and the failing elements.
func (b *Browser) Axe(t testing.TB) {
	t.Helper()
	vs := b.AxeViolations()
	if len(vs) == 0 {
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "axe: %d violation(s) on %s", len(vs), b.where())
	for _, v := range vs {
		fmt.Fprintf(&sb, "\n  %s [%s] %s (%s)", v.ID, v.Impact, v.Help, v.URL)
		for _, n := range v.Nodes {
			target, _ := json.Marshal(n.Target)
			fmt.Fprintf(&sb, "\n    at %s: %s", target, short(n.HTML))
			if n.Summary != "" {
				fmt.Fprintf(&sb, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
			}
		}
	}
	t.Error(sb.String())
}

// AxeViolations runs axe-core on the current page and returns what it found.
func (b *Browser) AxeViolations() []AxeViolation {
	b.t.Helper()
	var loaded bool
	b.Eval(`typeof window.axe === 'object' && typeof window.axe.run === 'function'`, &loaded)
	if !loaded {
		b.Eval(b.axeSource(), nil)
	}
	tags, _ := json.Marshal(AxeTags)
	var vs []AxeViolation
	// axe takes 0.2 s on an idle machine and 8 s on a loaded one with the
	// race detector: it gets a budget of its own, not a browser step's.
	if err := b.eval(axeWait, `(async () => {
	  const r = await axe.run(document, {runOnly: {type: 'tag', values: `+string(tags)+`}, resultTypes: ['violations']});
	  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
	    nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))}));
	})()`, &vs); err != nil {
		b.t.Fatalf("browser: axe: %v (page %s)", err, b.where())
	}
	return vs
}

func (b *Browser) axeSource() string {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.axeSrc == "" {
		src, err := os.ReadFile(filepath.Join(RepoRoot(b.t), "app", "apptest", "testdata", "axe.min.js"))
		if err != nil {
			b.t.Fatalf("axe: %v (vendor axe-core's axe.min.js into app/apptest/testdata)", err)
		}
		// A script evaluated this way has no module or AMD loader in sight,
		// so the UMD wrapper defines window.axe.
		b.axeSrc = string(src) + "\n;void 0;"
	}
	return b.axeSrc
}

// CSPViolations are the Content Security Policy violations the tab's pages
// reported so far.
func (b *Browser) CSPViolations() []CSPViolation {
	b.sync()
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]CSPViolation(nil), b.csp...)
}

// Console is everything the tab's pages logged so far.
func (b *Browser) Console() []ConsoleEntry {
	b.sync()
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ConsoleEntry(nil), b.console...)
}

// ConsoleErrors are the console errors, uncaught exceptions and error
// entries of the browser log (such as failed loads) so far.
func (b *Browser) ConsoleErrors() []ConsoleEntry {
	var errs []ConsoleEntry
	for _, e := range b.Console() {
		if e.Level == "error" {
			errs = append(errs, e)
		}
	}
	return errs
}

// ClearLogs forgets the console messages, CSP reports and events collected
// so far.
func (b *Browser) ClearLogs() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.console, b.csp, b.events = nil, nil, nil
}

// AssertClean fails the test if any page of the tab so far had a CSP
// violation, a console error or an uncaught exception.
func (b *Browser) AssertClean() { b.t.Helper(); b.AssertCleanExcept() }

// AssertCleanExcept is AssertClean allowing console errors that contain
// one of allowed: what a test provoked on purpose (Chrome logs a refused
// request, or one made without a network, as an error).
func (b *Browser) AssertCleanExcept(allowed ...string) {
	b.t.Helper()
	for _, v := range b.CSPViolations() {
		b.t.Errorf("CSP violation: %s", v)
	}
	for _, e := range b.ConsoleErrors() {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.Contains(e.Text, a) }) {
			b.t.Errorf("console error: %s", e)
		}
	}
}

// RecordEvents records every event of the given names dispatched on window
// (or bubbling to it) in documents loaded from now on. Events returns them.
func (b *Browser) RecordEvents(names ...string) {
	b.t.Helper()
	list, _ := json.Marshal(names)
	js := `(() => { for (const name of ` + string(list) + `) {
	  window.addEventListener(name, () => { try { window.` + reportBridge + `(JSON.stringify({kind: 'event',
	    data: {name, page: document.location.href}})); } catch (e) {} }, true);
	} })();`
	b.OnNewDocument(js)
}

// Events are the events recorded so far (see RecordEvents).
func (b *Browser) Events() []PageEvent {
	b.sync()
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]PageEvent(nil), b.events...)
}

// WaitForEvent waits at most timeout for a recorded event named name (see
// RecordEvents) and returns it.
func (b *Browser) WaitForEvent(name string, timeout time.Duration) PageEvent {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range b.Events() {
			if e.Name == name {
				return e
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: no %q event within %v (page %s)%s", name, timeout, b.where(), b.problems())
		}
		select {
		case <-b.ctx.Done():
			b.t.Fatalf("browser: tab closed while waiting for %q", name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clockJS makes the page's Date run offset ms ahead of the machine's clock
// (Date.now(), new Date() and Date()); calling it again changes the offset.
const clockJS = `((offset) => {
  if (!window.__portalClock) {
    const RealDate = window.Date;
    let skew = 0;
    const now = () => RealDate.now() + skew;
    window.Date = new Proxy(RealDate, {
      construct: (target, args, newTarget) =>
        args.length ? Reflect.construct(target, args, newTarget) : Reflect.construct(target, [now()], newTarget),
      apply: () => new RealDate(now()).toString(),
      get: (target, prop, receiver) => prop === 'now' ? now : Reflect.get(target, prop, receiver),
    });
    window.__portalClock = (ms) => { skew = ms; };
  }
  window.__portalClock(offset);
})`

// AdvanceClock moves the browser's clock forward by d, as TestApp.Clock
// moves the server's: Date in this page and in every page loaded later
// reads d later than before. Timers still fire in real time, so a script
// that checks Date.now() every second (the idle countdown) sees the jump at
// its next tick; nothing waits for d to pass.
func (b *Browser) AdvanceClock(d time.Duration) {
	b.t.Helper()
	b.mu.Lock()
	b.clockOffset += d
	offset, old := b.clockOffset.Milliseconds(), b.clockScript
	b.mu.Unlock()
	call := fmt.Sprintf("%s(%d);", clockJS, offset)
	var id page.ScriptIdentifier
	b.do("advance the clock", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if old != "" {
			if _, err := cdp.Call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument,
				page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: old}); err != nil {
				return err
			}
		}
		res, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: call})
		id = res.Identifier
		return err
	}))
	b.mu.Lock()
	b.clockScript = id
	b.mu.Unlock()
	b.Eval(call, nil)
}

// OnNewDocument runs js in every document loaded from now on, before the
// page's own scripts (and outside its CSP).
func (b *Browser) OnNewDocument(js string) {
	b.t.Helper()
	b.do("add script", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	}))
}

// sync makes a round trip to the page: every event the browser sent before
// its reply has then reached onEvent.
func (b *Browser) sync() { _ = b.eval(2*time.Second, "0", nil) }

// onEvent runs in the tab's event loop: it must return fast and send no
// command.
func (tb *tab) onEvent(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		level := string(ev.Type)
		switch ev.Type {
		case "warning":
		case "error", "assert":
			level = "error"
		case "debug", "info":
		default:
			level = "log"
		}
		e := ConsoleEntry{Level: level, Source: "console", Text: argsText(ev.Args)}
		if ev.StackTrace != nil && len(ev.StackTrace.CallFrames) > 0 {
			e.URL, e.Line = ev.StackTrace.CallFrames[0].URL, ev.StackTrace.CallFrames[0].LineNumber
		}
		tb.add(e)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		tb.add(ConsoleEntry{Level: "error", Source: "exception", Text: text, URL: d.URL, Line: d.LineNumber})
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil {
			level := string(e.Level)
			if level == "verbose" {
				level = "debug"
			}
			tb.add(ConsoleEntry{Level: level, Source: string(e.Source), Text: e.Text, URL: e.URL, Line: e.LineNumber})
		}
	case *runtime.EventBindingCalled:
		if ev.Name != reportBridge {
			return
		}
		var msg struct {
			Kind string          `json:"kind"`
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal([]byte(ev.Payload), &msg) != nil {
			return
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch msg.Kind {
		case "csp":
			var v CSPViolation
			if json.Unmarshal(msg.Data, &v) == nil {
				tb.csp = append(tb.csp, v)
			}
		case "event":
			var e PageEvent
			if json.Unmarshal(msg.Data, &e) == nil {
				tb.events = append(tb.events, e)
			}
		}
	}
}

func (tb *tab) add(e ConsoleEntry) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.console = append(tb.console, e)
}

// argsText renders console arguments roughly as DevTools shows them.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			var s string
			if json.Unmarshal([]byte(a.Value), &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.Description != "":
			parts = append(parts, a.Description)
		case a.UnserializableValue != "":
			parts = append(parts, string(a.UnserializableValue))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}
