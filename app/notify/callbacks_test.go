package notify_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"portal/app"
	"portal/app/apptest"
	"portal/app/config"
	"portal/app/notify"
)

// sign is X-Twilio-Signature as Twilio computes it: base64 HMAC-SHA1 of the
// URL followed by each parameter's name and value, sorted by name.
func sign(token, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	s := fullURL
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			s += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestTheTestSignerAgreesWithTwiliosPublishedExample(t *testing.T) {
	// From Twilio's request-validation example (auth token 12345).
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675310"}, "Digits": {"1234"},
		"From": {"+14158675310"}, "To": {"+18005551212"}}
	if got := sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form); got != "GvWf1cFY/Q7PnoempGyD5oXAezc=" {
		t.Fatalf("signature %q", got)
	}
}

// twilioCallback is what Twilio posts when the person presses a key.
func twilioCallback(digits string) url.Values {
	return url.Values{"AccountSid": {twilioSID}, "CallSid": {"CA0123"}, "Called": {"+441632960001"},
		"From": {twilioFrom}, "To": {"+441632960001"}, "Digits": {digits}, "CallStatus": {"in-progress"}}
}

// callbackPost posts form to path on app with signature (none when empty).
func callbackPost(t *testing.T, app *fiber.App, path, signature string, form url.Values) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", fiber.MIMEApplicationForm)
	// Security: the signature covers BASE_URL; a forged Host must not help.
	req.Host = "evil.example"
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/xml") {
		t.Errorf("Content-Type %q, want text/xml", res.Header.Get("Content-Type"))
	}
	return res.StatusCode, string(body)
}

// parsedReply is the callback's TwiML.
type parsedReply struct {
	XMLName xml.Name   `xml:"Response"`
	Say     []spoken   `xml:"Say"`
	Hangup  []struct{} `xml:"Hangup"`
	Other   []anyElem  `xml:",any"`
}

func twilioConfig() config.Config {
	cfg := testConfig()
	cfg.VoiceProvider, cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioFrom = "twilio", twilioSID, twilioToken, twilioFrom
	return cfg
}

func TestASignedCallbackPassesTheAnswerOnAndHangsUp(t *testing.T) {
	for _, tc := range []struct {
		name, lang, wantLang, language, voice string
	}{
		{"in English", "en", "en", "en-GB", ""},
		{"in Welsh", "cy", "cy", "cy-GB", "Polly.Gwyneth"},
		{"in an unknown language, English", "fr", "en", "en-GB", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &hook{}
			v := notify.NewVoiceCallbacks(twilioConfig(), bundle(t), rec.answered)
			path := "/callbacks/voice?challenge=challenge-7&lang=" + tc.lang
			form := twilioCallback("#")
			status, body := callbackPost(t, bareApp(v.Mount), path, sign(twilioToken, baseURL+path, form), form)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if len(rec.token) != 1 || rec.token[0] != "challenge-7" || rec.digits[0] != "#" {
				t.Fatalf("hook got tokens %v digits %v, want once with challenge-7 and #", rec.token, rec.digits)
			}
			var reply parsedReply
			if err := xml.Unmarshal([]byte(body), &reply); err != nil {
				t.Fatalf("reply is not XML: %v\n%s", err, body)
			}
			words := bundle(t).For(tc.wantLang).T("notify.voice_reply.answered")
			if len(reply.Say) != 1 || reply.Say[0] != (spoken{tc.language, tc.voice, words}) ||
				len(reply.Hangup) != 1 || len(reply.Other) != 0 {
				t.Fatalf("reply %s, want Say %q in %s then Hangup", body, words, tc.language)
			}
		})
	}
}

func TestAnUnsignedOrAlteredCallbackIsRefused(t *testing.T) {
	rec := &hook{}
	v := notify.NewVoiceCallbacks(twilioConfig(), bundle(t), rec.answered)
	app := bareApp(v.Mount)
	path := "/callbacks/voice?challenge=challenge-7&lang=en"
	form := twilioCallback("#")
	good := sign(twilioToken, baseURL+path, form)
	tampered := twilioCallback("#")
	tampered.Set("Digits", "1")
	extra := twilioCallback("#")
	extra.Add("Digits", "1")
	for _, tc := range []struct {
		name, path, signature string
		form                  url.Values
	}{
		{"no signature", path, "", form},
		{"a signature made with another token", path, sign("another-token", baseURL+path, form), form},
		{"a signature that is not base64", path, "not a signature", form},
		{"a signature for another challenge", "/callbacks/voice?challenge=challenge-8&lang=en", good, form},
		{"a signature for another site", path, sign(twilioToken, "https://evil.example"+path, form), form},
		{"a signature for the Host header's URL", path, sign(twilioToken, "http://evil.example"+path, form), form},
		{"tampered Digits", path, good, tampered},
		{"a Digits added", path, good, extra},
		{"a signature of the URL alone", path, sign(twilioToken, baseURL+path, nil), form},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.token, rec.digits = nil, nil
			if status, body := callbackPost(t, app, tc.path, tc.signature, tc.form); status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", status, body)
			}
			if len(rec.token) != 0 {
				t.Fatalf("hook called with %v %v", rec.token, rec.digits)
			}
		})
	}
	t.Run("the same request correctly signed is accepted", func(t *testing.T) {
		rec.token = nil
		if status, _ := callbackPost(t, app, path, good, form); status != http.StatusOK || len(rec.token) != 1 {
			t.Fatalf("status %d, hook calls %d", status, len(rec.token))
		}
	})
}

func TestTheCallbackIsNotFoundWithoutATwilioVoiceProvider(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*config.Config)
	}{
		{"calls in the outbox", func(c *config.Config) { c.VoiceProvider = "outbox" }},
		{"Twilio for texts only", func(c *config.Config) { c.VoiceProvider, c.SMSProvider = "outbox", "twilio" }},
		{"Twilio without a token", func(c *config.Config) { c.TwilioAuthToken = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := twilioConfig()
			tc.change(&cfg)
			rec := &hook{}
			v := notify.NewVoiceCallbacks(cfg, bundle(t), rec.answered)
			path := "/callbacks/voice?challenge=challenge-7&lang=en"
			form := twilioCallback("#")
			// Even a request signed with the token (or with none) is refused.
			for _, token := range []string{twilioToken, ""} {
				if status, _ := callbackPost(t, bareApp(v.Mount), path, sign(token, baseURL+path, form), form); status != http.StatusNotFound {
					t.Fatalf("status %d, want 404", status)
				}
			}
			if len(rec.token) != 0 {
				t.Fatal("hook called")
			}
		})
	}
}

func TestTheRealAppTakesSignedCallbacksPastCSRF(t *testing.T) {
	token := config.RandomKey()
	a := apptest.NewApp(t, apptest.Options{Env: config.Test, Tune: func(d *app.Deps) {
		d.Config.VoiceProvider, d.Config.TwilioAuthToken = "twilio", token
	}})
	path := "/callbacks/voice?challenge=challenge-7&lang=cy"
	form := twilioCallback("#")
	for _, tc := range []struct {
		name, signature string
		want            int
	}{
		{"signed against BASE_URL", sign(token, a.URL+path, form), http.StatusOK},
		{"unsigned", "", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, a.URL+path, strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", fiber.MIMEApplicationForm)
			if tc.signature != "" {
				req.Header.Set("X-Twilio-Signature", tc.signature)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.want, body)
			}
			if tc.want != http.StatusOK {
				return
			}
			var reply parsedReply
			if err := xml.Unmarshal(body, &reply); err != nil || len(reply.Say) != 1 ||
				reply.Say[0].Text != a.Bundle.For("cy").T("notify.voice_reply.answered") {
				t.Fatalf("reply is not the Welsh thanks (%v): %s", err, body)
			}
		})
	}
}

func TestAnotherKeyThanHashIsNotThanked(t *testing.T) {
	rec := &hook{}
	v := notify.NewVoiceCallbacks(twilioConfig(), bundle(t), rec.answered)
	path := "/callbacks/voice?challenge=challenge-7&lang=en"
	form := twilioCallback("1")
	status, body := callbackPost(t, bareApp(v.Mount), path, sign(twilioToken, baseURL+path, form), form)
	var reply parsedReply
	if err := xml.Unmarshal([]byte(body), &reply); err != nil || status != http.StatusOK || len(reply.Say) != 1 {
		t.Fatalf("status %d, reply %s (%v)", status, body, err)
	}
	if got, want := reply.Say[0].Text, bundle(t).For("en").T("notify.voice_reply.no_answer"); got != want {
		t.Fatalf("after 1 the call says %q, want %q", got, want)
	}
	if len(rec.digits) != 1 || rec.digits[0] != "1" {
		t.Fatalf("the hook got %v, want the 1 passed on (it decides)", rec.digits)
	}
}
