package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/config"
)

// downForTexts is Twilio on loopback with its texts failing (500) while
// calls go through: a provider half down. With callsDown it is the other
// half: calls fail and texts go.
type downForTexts struct {
	mu                 sync.Mutex
	texts, calls       int
	textsUp, callsDown bool
}

func (d *downForTexts) configure(t *testing.T) func(*config.Config) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/Calls.json") && d.callsDown:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"code": 20500, "status": 500}`))
			return
		case strings.HasSuffix(r.URL.Path, "/Calls.json"):
			d.calls++
		case d.textsUp:
			d.texts++
		default:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"code": 20500, "status": 500}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"sid": "SMfake", "status": "queued"}`))
	}))
	t.Cleanup(srv.Close)
	return func(c *config.Config) {
		c.SMSProvider, c.VoiceProvider, c.TwilioBaseURL = "twilio", "twilio", srv.URL
		c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom = "ACfake", config.RandomKey(), "+441632960000"
	}
}

// TestATextThatCouldNotBeSentSaysSoAndOffersCallMe: the code is queued, so
// the page learns of a provider that is down by asking (a passive poll, or
// its button without JavaScript); after a failed attempt it says "We could
// not send a text just now" and offers Call Me, which works.
func TestATextThatCouldNotBeSentSaysSoAndOffersCallMe(t *testing.T) {
	down := &downForTexts{}
	a := apptest.NewApp(t, apptest.Options{Configure: down.configure(t)})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	page := c.PostForm("/sign-in/confirm/send", nil)
	if page.StatusCode != http.StatusOK ||
		page.Doc.Find(`#text-status form[action="/sign-in/confirm/send/status"][hx-trigger][data-passive]`).Length() != 1 {
		t.Fatalf("the code page = %d, without its passive question about the text", page.StatusCode)
	}
	poll := func() *apptest.Response {
		c.Header.Set("HX-Request", "true")
		defer c.Header.Del("HX-Request")
		return c.PostForm("/sign-in/confirm/send/status", nil)
	}
	if res := poll(); res.StatusCode != http.StatusNoContent {
		t.Fatalf("a poll before any attempt = %d, want 204", res.StatusCode)
	}

	if err := a.Notifier.Drain(context.Background()); err == nil {
		t.Fatal("the text went through a provider that is down")
	}
	failed := a.T("auth.text_status.failed")
	res := poll()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Text("#text-status"), failed) ||
		res.Doc.Find(`#text-status form[action="/sign-in/confirm/call"] button`).Length() != 1 ||
		res.Doc.Find(`#text-status form[hx-trigger]`).Length() != 0 {
		t.Fatalf("the poll after a failed attempt = %d %q, want the message, Call Me and no more polling", res.StatusCode, res.Body)
	}
	if strings.Contains(res.Body, "<html") {
		t.Fatal("the poll got a whole page, not the fragment")
	}
	// Without JavaScript, the button gets the whole page with the same.
	whole := c.PostForm("/sign-in/confirm/send/status", nil)
	if whole.StatusCode != http.StatusOK || !strings.Contains(whole.Text("main"), failed) ||
		whole.Doc.Find(`form[action="/sign-in/confirm/verify"]`).Length() != 1 {
		t.Fatalf("the button after a failed attempt = %d, want the code page with the message", whole.StatusCode)
	}

	// Call Me goes through the part of the provider that works.
	call := c.PostForm("/sign-in/confirm/call", url.Values{"resend": {"1"}})
	if call.StatusCode != http.StatusOK || call.Doc.Find(`form[action="/sign-in/confirm/call/continue"]`).Length() != 1 {
		t.Fatalf("Call Me after the failed text = %d", call.StatusCode)
	}
	_ = a.Notifier.Drain(context.Background()) // the text still waits for its retry
	down.mu.Lock()
	defer down.mu.Unlock()
	if down.calls != 1 {
		t.Fatalf("%d calls made, want 1", down.calls)
	}
}

func TestATextOnItsWayIsNotCalledFailed(t *testing.T) {
	up := &downForTexts{textsUp: true}
	a := apptest.NewApp(t, apptest.Options{Configure: up.configure(t)})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	c.PostForm("/sign-in/confirm/send", nil)
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Header.Set("HX-Request", "true")
	res := c.PostForm("/sign-in/confirm/send/status", nil)
	c.Header.Del("HX-Request")
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("a poll after the text went = %d, want 204", res.StatusCode)
	}
	whole := c.PostForm("/sign-in/confirm/send/status", nil)
	if whole.StatusCode != http.StatusOK || !strings.Contains(whole.Text("#text-status"), a.T("auth.text_status.on_its_way")) ||
		strings.Contains(whole.Body, a.T("auth.text_status.failed")) {
		t.Fatalf("the button after the text went = %d %q", whole.StatusCode, whole.Text("#text-status"))
	}
}

// TestATextThatCouldNotBeSentPointsToTheOtherWays: a person with an
// authenticator app is also sent back to the page of their other ways.
func TestATextThatCouldNotBeSentPointsToTheOtherWays(t *testing.T) {
	down := &downForTexts{}
	a := apptest.NewApp(t, apptest.Options{Configure: down.configure(t)})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	setup := a.Client(t)
	a.SignIn(t, setup, p)
	addApp(t, a, setup)

	c := a.Client(t)
	a.PasswordStep(t, c, p)
	c.PostForm("/sign-in/confirm/send", nil)
	_ = a.Notifier.Drain(context.Background())
	res := c.PostForm("/sign-in/confirm/send/status", nil)
	link := res.Doc.Find(`#text-status a[href="/sign-in/confirm"]`)
	if link.Length() != 1 || strings.TrimSpace(link.Text()) != a.T("auth.text_status.other_ways") {
		t.Fatalf("no link to the other ways: %q", res.Text("#text-status"))
	}
	if page := c.Get("/sign-in/confirm"); page.Doc.Find(`form[action="/sign-in/confirm/app"]`).Length() != 1 {
		t.Fatal("the other ways do not offer the authenticator app")
	}
}

// TestACallThatCouldNotBeMadeSaysSoAndOffersAText: "Call Me" is queued
// too; after a failed attempt the waiting page's poll (and its Continue
// without JavaScript) says "We could not call you just now" and offers a
// text to the mobile, which goes.
func TestACallThatCouldNotBeMadeSaysSoAndOffersAText(t *testing.T) {
	down := &downForTexts{textsUp: true, callsDown: true}
	a := apptest.NewApp(t, apptest.Options{Configure: down.configure(t)})
	p := a.NewPerson(t, "carer@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	c := a.Client(t)
	a.PasswordStep(t, c, p)
	page := c.PostForm("/sign-in/confirm/call", nil)
	if page.StatusCode != http.StatusOK ||
		page.Doc.Find(`#call-status form[action="/sign-in/confirm/call/continue"][hx-trigger][data-passive]`).Length() != 1 {
		t.Fatalf("the call page = %d, without its passive question", page.StatusCode)
	}
	poll := func(form url.Values) *apptest.Response {
		c.Header.Set("HX-Request", "true")
		defer c.Header.Del("HX-Request")
		return c.PostForm("/sign-in/confirm/call/continue", form)
	}
	if res := poll(nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("a poll before any attempt = %d, want 204", res.StatusCode)
	}
	if err := a.Notifier.Drain(context.Background()); err == nil {
		t.Fatal("the call went through a provider that is down")
	}
	failed := a.T("auth.call_status.failed")
	res := poll(nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Text("#call-status"), failed) ||
		res.Doc.Find(`#call-status form[action="/sign-in/confirm/send"] button`).Length() != 1 || strings.Contains(res.Body, "<html") {
		t.Fatalf("the poll after a failed attempt = %d %q, want the message and a text", res.StatusCode, res.Body)
	}
	// The page still waits for a call a retry may make, without saying
	// the failure again at every poll.
	if res.Doc.Find(`#call-status form[hx-trigger] input[name="shown"][value="failed"]`).Length() != 1 {
		t.Fatal("the failure stops the page waiting for the call")
	}
	if again := poll(url.Values{"shown": {"failed"}}); again.StatusCode != http.StatusNoContent {
		t.Fatalf("a poll of a page showing the failure = %d, want 204", again.StatusCode)
	}
	whole := c.PostForm("/sign-in/confirm/call/continue", nil)
	if whole.StatusCode != http.StatusOK || !strings.Contains(whole.Text("main"), failed) {
		t.Fatalf("Continue after a failed attempt = %d %q", whole.StatusCode, whole.Text("main"))
	}

	text := c.PostForm("/sign-in/confirm/send", url.Values{"resend": {"1"}})
	if text.StatusCode != http.StatusOK || text.Doc.Find(`form[action="/sign-in/confirm/verify"]`).Length() != 1 {
		t.Fatalf("a text after the failed call = %d", text.StatusCode)
	}
	_ = a.Notifier.Drain(context.Background()) // the call still waits for its retry
	down.mu.Lock()
	defer down.mu.Unlock()
	if down.texts != 1 {
		t.Fatalf("%d texts sent, want 1", down.texts)
	}
}
