package notify_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"portal/app/notify"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "twilio-auth-token-for-tests"
	twilioFrom  = "+441632960000"
)

// twilioRequest is one request the fake received.
type twilioRequest struct {
	resource string // Messages.json or Calls.json
	form     url.Values
}

// fakeTwilio is Twilio's REST API on loopback: it checks basic auth and the
// account in the path, keeps each form and answers status (201 unless set).
type fakeTwilio struct {
	t      *testing.T
	srv    *httptest.Server
	status int
	reply  string

	mu  sync.Mutex
	got []twilioRequest
}

func startTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{t: t, status: http.StatusCreated, reply: `{"sid":"SM0123","status":"queued"}`}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	resource, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/"+twilioSID+"/")
	if r.Method != http.MethodPost || !ok || (resource != "Messages.json" && resource != "Calls.json") {
		f.t.Errorf("Twilio got %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != twilioSID || pass != twilioToken {
		f.t.Errorf("Twilio got basic auth %q (ok=%v)", user, ok)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		f.t.Errorf("Twilio got a body that is not a form (%v)", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, twilioRequest{resource: resource, form: r.PostForm})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.reply))
}

func (f *fakeTwilio) received() []twilioRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioRequest(nil), f.got...)
}

func newTwilio(t *testing.T, apiBase string) *notify.Twilio {
	t.Helper()
	tw, err := notify.NewTwilio(notify.TwilioConfig{APIBase: apiBase, AccountSID: twilioSID, AuthToken: twilioToken,
		From: twilioFrom, PortalBase: baseURL + "/", Bundle: bundle(t)})
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

// wantForm fails unless form holds exactly want, one value each.
func wantForm(t *testing.T, form url.Values, want map[string]string) {
	t.Helper()
	if len(form) != len(want) {
		t.Errorf("form has %d fields %v, want %d", len(form), form, len(want))
	}
	for k, v := range want {
		if got := form[k]; len(got) != 1 || got[0] != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
}

func TestTwilioSendsATextWithBasicAuth(t *testing.T) {
	f := startTwilio(t)
	if err := newTwilio(t, f.srv.URL).Send(t.Context(), codeText); err != nil {
		t.Fatal(err)
	}
	got := f.received()
	if len(got) != 1 || got[0].resource != "Messages.json" {
		t.Fatalf("Twilio received %+v, want one message", got)
	}
	wantForm(t, got[0].form, map[string]string{"To": codeText.To, "From": twilioFrom, "Body": codeText.Body})
}

// parsedCall is a call's TwiML as Twilio reads it.
type parsedCall struct {
	XMLName xml.Name `xml:"Response"`
	Gather  []struct {
		NumDigits   string    `xml:"numDigits,attr"`
		Timeout     string    `xml:"timeout,attr"`
		Method      string    `xml:"method,attr"`
		Action      string    `xml:"action,attr"`
		FinishOnKey *string   `xml:"finishOnKey,attr"`
		Say         []spoken  `xml:"Say"`
		Other       []anyElem `xml:",any"`
	} `xml:"Gather"`
	Say    []spoken   `xml:"Say"`
	Hangup []struct{} `xml:"Hangup"`
	Other  []anyElem  `xml:",any"`
}

// anyElem is an element the test did not expect.
type anyElem struct{ XMLName xml.Name }

// spoken is a <Say>.
type spoken struct {
	Language string `xml:"language,attr"`
	Voice    string `xml:"voice,attr"`
	Text     string `xml:",chardata"`
}

func parseCall(t *testing.T, doc string) parsedCall {
	t.Helper()
	var c parsedCall
	if err := xml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatalf("Twiml is not XML: %v\n%s", err, doc)
	}
	return c
}

func TestTwilioCallsReadTheMessageAndWaitForTheKey(t *testing.T) {
	cyBody := bundle(t).For("cy").T("voice_sign_in.body")
	for _, tc := range []struct {
		name, lang, body, token string
		language, voice         string
	}{
		{"an English call speaks British English", "en", bundle(t).For("en").T("voice_sign_in.body"), "challenge-7",
			"en-GB", ""},
		{"a Welsh call speaks Welsh in a Welsh voice", "cy", cyBody, "challenge-8", "cy-GB", "Polly.Gwyneth"},
		{"markup in the words or the token stays words", "en", `Press # & <Hangup/> "now"`, "t&lang=cy<x>",
			"en-GB", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startTwilio(t)
			r := notify.Rendered{Channel: notify.Voice, To: "+441632960001", Body: tc.body, AnswerToken: tc.token, Lang: tc.lang}
			if err := newTwilio(t, f.srv.URL).Send(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			got := f.received()
			if len(got) != 1 || got[0].resource != "Calls.json" {
				t.Fatalf("Twilio received %+v, want one call", got)
			}
			doc := got[0].form.Get("Twiml")
			wantForm(t, got[0].form, map[string]string{"To": r.To, "From": twilioFrom, "Twiml": doc})
			call := parseCall(t, doc)
			if len(call.Gather) != 1 || len(call.Say) != 1 || len(call.Hangup) != 0 || len(call.Other) != 0 {
				t.Fatalf("want one Gather then one Say, got %s", doc)
			}
			g := call.Gather[0]
			if g.NumDigits != "1" || g.Timeout != "10" || g.Method != "POST" || g.FinishOnKey == nil || *g.FinishOnKey != "" {
				t.Errorf("Gather numDigits=%q timeout=%q method=%q finishOnKey=%v", g.NumDigits, g.Timeout, g.Method, g.FinishOnKey)
			}
			action, err := url.Parse(g.Action)
			if err != nil || action.Scheme+"://"+action.Host+action.Path != baseURL+"/callbacks/voice" {
				t.Errorf("action %q is not BASE_URL/callbacks/voice", g.Action)
			}
			if q := action.Query(); q.Get("challenge") != tc.token || q.Get("lang") != tc.lang || len(q) != 2 {
				t.Errorf("action query %v, want challenge=%q lang=%q", q, tc.token, tc.lang)
			}
			if len(g.Say) != 1 || len(g.Other) != 0 || g.Say[0] != (spoken{tc.language, tc.voice, tc.body}) {
				t.Errorf("Gather says %+v, want %q in %s %q", g.Say, tc.body, tc.language, tc.voice)
			}
			noAnswer := bundle(t).For(tc.lang).T("notify.voice_reply.no_answer")
			if call.Say[0] != (spoken{tc.language, tc.voice, noAnswer}) {
				t.Errorf("after the Gather it says %+v, want %q", call.Say[0], noAnswer)
			}
		})
	}
	if cy, en := bundle(t).For("cy").T("notify.voice_reply.no_answer"), bundle(t).For("en").T("notify.voice_reply.no_answer"); cy == en || strings.HasPrefix(cy, "notify.") {
		t.Errorf("the Welsh no-answer words are %q", cy)
	}
}

func TestTwilioRefusalsSayWhyButNeverQuoteTheNumberOrTheText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		reply  string
		want   []string
	}{
		{"an invalid number names Twilio's code", http.StatusBadRequest,
			`{"code":21211,"message":"The 'To' number +447700900123 is not a valid phone number.","status":400}`,
			[]string{"status 400", "error code 21211"}},
		{"a bad token names Twilio's code", http.StatusUnauthorized,
			`{"code":20003,"message":"Authenticate","status":401}`, []string{"status 401", "error code 20003"}},
		{"a server error without JSON", http.StatusServiceUnavailable,
			`busy sending "Your Children's Services Online code is 908172" to +447700900123`, []string{"status 503", "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startTwilio(t)
			f.status, f.reply = tc.status, tc.reply
			err := newTwilio(t, f.srv.URL).Send(t.Context(), codeText)
			if err == nil {
				t.Fatal("Send reported success")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{"447700900123", "908172", "Your Children's", twilioToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes %q", err, secret)
				}
			}
		})
	}
}

func TestTwilioDoesNotSendEmail(t *testing.T) {
	f := startTwilio(t)
	err := newTwilio(t, f.srv.URL).Send(t.Context(), notify.Rendered{Channel: notify.Email, To: "a@example.org", Body: "b"})
	if err == nil || len(f.received()) != 0 {
		t.Fatalf("Twilio was asked to send an email (err %v)", err)
	}
}

func TestTextsAndCallsGoThroughTheQueueToTwilio(t *testing.T) {
	f := startTwilio(t)
	e := newEnv(t, func(o *notify.Options) {
		o.Config.SMSProvider, o.Config.VoiceProvider = "twilio", "twilio"
		o.Config.TwilioBaseURL, o.Config.TwilioAccountSID = f.srv.URL, twilioSID
		o.Config.TwilioAuthToken, o.Config.TwilioFrom = twilioToken, twilioFrom
	})
	e.send(t, notify.Message{Channel: notify.SMS, To: "+447700900123", Template: "sms_code", Lang: "cy",
		Data: map[string]string{"Code": "222222"}})
	e.send(t, notify.Message{Channel: notify.Voice, To: "+441632960001", Template: "voice_sign_in", Lang: "cy",
		AnswerToken: "challenge-9"})
	e.drain(t)

	got := map[string]url.Values{}
	for _, r := range f.received() {
		got[r.resource] = r.form
	}
	if len(f.received()) != 2 || got["Messages.json"] == nil || got["Calls.json"] == nil {
		t.Fatalf("Twilio received %+v, want one text and one call", f.received())
	}
	cy := bundle(t).For("cy")
	wantForm(t, got["Messages.json"], map[string]string{"To": "+447700900123", "From": twilioFrom,
		"Body": cy.T("sms_code.body", "Code", "222222", "Service", cy.T("notify.service"))})
	call := parseCall(t, got["Calls.json"].Get("Twiml"))
	if len(call.Gather) != 1 || !strings.Contains(call.Gather[0].Action, "challenge=challenge-9") ||
		len(call.Gather[0].Say) != 1 || call.Gather[0].Say[0].Text != cy.T("voice_sign_in.body", "Service", cy.T("notify.service")) {
		t.Fatalf("the call was not the Welsh sign-in call for challenge-9: %+v", call)
	}
	// Outside production nothing else changed: email still goes to the outbox.
	e.send(t, codeEmail)
	e.drain(t)
	if msgs, err := notify.NewOutbox(e.db.Gorm, nil).List(t.Context()); err != nil || len(msgs) != 1 || msgs[0].Channel != notify.Email {
		t.Fatalf("outbox %+v (%v), want only the email", msgs, err)
	}
}
