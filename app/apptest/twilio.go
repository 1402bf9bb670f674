package apptest

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"portal/app/config"
	"portal/app/notify"
)

// FakeTwilio is a loopback stand-in for Twilio's REST API, real HTTP: it
// takes texts and calls (checking basic auth) and keeps them, and answers a
// call as Twilio does, posting the pressed keys to the call's action URL
// with an X-Twilio-Signature.
type FakeTwilio struct {
	URL, SID, Token, From string

	mu    sync.Mutex
	calls []url.Values
	texts []url.Values
}

// NewFakeTwilio starts the fake for t.
func NewFakeTwilio(t testing.TB) *FakeTwilio {
	f := &FakeTwilio{SID: "ACfake", Token: config.RandomKey(), From: "+441632960000"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid, token, ok := r.BasicAuth(); !ok || sid != f.SID || token != f.Token {
			http.Error(w, `{"code": 20003}`, http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, `{"code": 21000}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/Calls.json"):
			f.calls = append(f.calls, r.PostForm)
		case strings.HasSuffix(r.URL.Path, "/Messages.json"):
			f.texts = append(f.texts, r.PostForm)
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"sid": "SMfake", "status": "queued"}`))
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Configure points texts and calls at the fake (an Options.Configure).
func (f *FakeTwilio) Configure(c *config.Config) {
	c.SMSProvider, c.VoiceProvider, c.TwilioBaseURL = "twilio", "twilio", f.URL
	c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom = f.SID, f.Token, f.From
}

// Calls are the calls asked for so far, oldest first, as posted.
func (f *FakeTwilio) Calls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls...)
}

var actionRE = regexp.MustCompile(`action="([^"]+)"`)

// ActionURL is where Twilio posts the keys pressed on call.
func (f *FakeTwilio) ActionURL(t testing.TB, call url.Values) string {
	t.Helper()
	m := actionRE.FindStringSubmatch(call.Get("Twiml"))
	if m == nil {
		t.Fatalf("the call's TwiML has no action: %s", call.Get("Twiml"))
	}
	return html.UnescapeString(m[1])
}

// Press posts digits to action as Twilio does when the person presses
// keys, signed with the auth token, and returns the status.
func (f *FakeTwilio) Press(t testing.TB, action, digits string) int {
	t.Helper()
	form := url.Values{"AccountSid": {f.SID}, "CallSid": {"CAfake"}, "CallStatus": {"in-progress"},
		"From": {f.From}, "Digits": {digits}}
	req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", f.Sign(action, form))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Sign is Twilio's request signature for fullURL and form. It is the
// portal's own notify.TwilioSignature: the notify tests check that one
// against Twilio's published example with a signer of their own.
func (f *FakeTwilio) Sign(fullURL string, form url.Values) string {
	return notify.TwilioSignature(f.Token, fullURL, form)
}
