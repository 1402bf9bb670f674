package notify_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"portal/app/notify"
)

// Fuzz targets for the voice callback, the one request the portal takes
// from outside any page of its own: what Twilio posts when a key is
// pressed. They go through the real handler in a Fiber app, in process.
// Seeds are added below and kept in testdata/fuzz/<target>.

// maxHead keeps a request's line and signature inside bareApp's read
// buffer, with room for the other headers.
const maxHead = 3 << 10

// fuzzCallback posts body to the voice callback at path with signature.
func fuzzCallback(t *testing.T, app *fiber.App, path, signature string, body []byte) (int, string) {
	t.Helper()
	if len(path)+len(signature) > maxHead {
		// fasthttp refuses a head longer than its read buffer before any
		// handler runs (bareApp's is 4 KiB, the portal's 16 KiB): no input
		// for these targets.
		t.Skip()
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// fuzzVoiceApp is a Fiber app with only the voice callback, built once per
// fuzz target (loading the words takes longer than a request); each input
// sets a fresh hook.
func fuzzVoiceApp(f *testing.F) (*fiber.App, **hook) {
	rec := &hook{}
	v := notify.NewVoiceCallbacks(twilioConfig(), bundle(f), func(ctx context.Context, token, digits string) error {
		return rec.answered(ctx, token, digits)
	})
	return bareApp(v.Mount), &rec
}

// FuzzVoiceCallbackSigned: a callback Twilio signed, whatever its
// challenge, language, digits and other parameters, is believed: the hook
// gets exactly the challenge and the digits as signed, and the reply is
// TwiML that says one thing and hangs up. (The signature here comes from
// the tests' own signer, so this also checks TwilioSignature against it.)
func FuzzVoiceCallbackSigned(f *testing.F) {
	f.Add("challenge-7", "cy", "#", "Caller", "+441632960001")
	f.Add("", "", "", "", "")
	f.Add("a b&c=d", "en-GB;q=0.5,cy", "1234#", "Digits", "#")
	f.Add("\xff\x00", "\u202e", "<Say>", "x y", "&amp;")
	app, current := fuzzVoiceApp(f)
	f.Fuzz(func(t *testing.T, challenge, lang, digits, key, value string) {
		if len(challenge)+len(lang)+len(digits)+len(key)+len(value) > 1<<16 {
			t.Skip()
		}
		form := twilioCallback(digits)
		if key != "" {
			form.Add(key, value)
		}
		path := "/callbacks/voice?challenge=" + url.QueryEscape(challenge) + "&lang=" + url.QueryEscape(lang)
		rec := &hook{}
		*current = rec
		status, body := fuzzCallback(t, app, path, sign(twilioToken, baseURL+path, form), []byte(form.Encode()))
		if status != http.StatusOK {
			t.Fatalf("a signed callback answered %d: %s", status, body)
		}
		if len(rec.token) != 1 || rec.token[0] != challenge || rec.digits[0] != form.Get("Digits") {
			t.Fatalf("hook got %q %q, want %q %q", rec.token, rec.digits, challenge, form.Get("Digits"))
		}
		var reply parsedReply
		if err := xml.Unmarshal([]byte(body), &reply); err != nil || len(reply.Say) != 1 || len(reply.Hangup) != 1 || len(reply.Other) != 0 {
			t.Fatalf("reply %v: %s", err, body)
		}
	})
}

// FuzzVoiceCallbackForged: any other request, whatever its query, body and
// signature header, is refused (never 200, never a server error) and the
// hook hears nothing.
func FuzzVoiceCallbackForged(f *testing.F) {
	form := twilioCallback("#")
	path := "/callbacks/voice?challenge=c1&lang=en"
	good := sign(twilioToken, baseURL+path, form)
	f.Add("challenge=c1&lang=en", []byte(form.Encode()), "")
	f.Add("challenge=c1&lang=en", []byte(form.Encode()+"&Digits=1"), good)
	f.Add("challenge=c2&lang=en", []byte(form.Encode()), good)
	f.Add("challenge=c1&lang=en&Digits=%23", []byte(strings.Replace(form.Encode(), "Digits=%23", "", 1)), good)
	f.Add("", []byte("Digits=%23&Digits=1&%zz=%"), "AAAA")
	app, current := fuzzVoiceApp(f)
	f.Fuzz(func(t *testing.T, query string, body []byte, signature string) {
		if len(query)+len(body)+len(signature) > 1<<16 {
			t.Skip()
		}
		// Only what can stand in a request line and a header: the rest
		// never reaches a handler.
		query = strings.Map(func(r rune) rune {
			if r <= ' ' || r == 0x7f || r == '#' || r >= 0x80 {
				return -1
			}
			return r
		}, query)
		signature = strings.Map(func(r rune) rune {
			if r < ' ' || r >= 0x7f {
				return -1
			}
			return r
		}, signature)
		q := "/callbacks/voice?" + query
		if signature == sign(twilioToken, baseURL+q, parseForm(body)) {
			t.Skip() // signed after all: FuzzVoiceCallbackSigned's case
		}
		rec := &hook{}
		*current = rec
		status, body2 := fuzzCallback(t, app, q, signature, body)
		if status == http.StatusOK || status >= 500 || len(rec.token) != 0 {
			t.Fatalf("a forged callback answered %d (hook told %q): %s", status, rec.token, body2)
		}
	})
}

// parseForm reads a body as Go reads a form, for the signer.
func parseForm(b []byte) url.Values {
	v, _ := url.ParseQuery(string(b))
	return v
}
