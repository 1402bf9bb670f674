package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" // Twilio defines its request signature as HMAC-SHA1
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portal/app/config"
	"portal/app/i18n"
	"portal/app/web"
)

// VoiceCallbacks receives what Twilio posts back during a call: the key the
// person pressed. It is always mounted, and answers 404 unless a voice
// provider is Twilio (VOICE_PROVIDER=twilio with TWILIO_AUTH_TOKEN set), so
// the route table is the same everywhere. It sits under /callbacks/, which
// the CSRF middleware exempts: a request proves itself by its signature.
type VoiceCallbacks struct {
	authToken string // empty: no Twilio voice provider, every request is a 404
	baseURL   string
	bundle    *i18n.Bundle

	answered AnswerFunc
}

// AnswerFunc is told a call's answer: its answer token (the challenge
// query parameter the call's TwiML carries) and the digits pressed, from a
// correctly signed callback or the dev outbox. It decides whether the
// answer counts: only "#", on that exact challenge, once; a replayed or
// stale token must do nothing (auth.Handler.VoiceAnswered). Nil: answering
// does nothing.
type AnswerFunc func(ctx context.Context, answerToken, digits string) error

// NewVoiceCallbacks returns the callback handler cfg calls for: it checks
// signatures with TWILIO_AUTH_TOKEN against BASE_URL when VOICE_PROVIDER is
// twilio, and refuses every request otherwise. bundle holds the words of
// the reply; answered is told each answer.
func NewVoiceCallbacks(cfg config.Config, bundle *i18n.Bundle, answered AnswerFunc) *VoiceCallbacks {
	v := &VoiceCallbacks{baseURL: strings.TrimRight(cfg.BaseURL, "/"), bundle: bundle, answered: answered}
	if cfg.VoiceProvider == "twilio" {
		v.authToken = cfg.TwilioAuthToken
	}
	return v
}

// Mount adds POST /callbacks/voice to r.
func (v *VoiceCallbacks) Mount(r fiber.Router) {
	r.Post(VoiceCallbackPath, web.CSRFExempt, v.voice).Name("notify.voice_callback")
}

// voice checks the signature, hands the answer to the hook and replies with
// TwiML that thanks the person and hangs up.
func (v *VoiceCallbacks) voice(c *fiber.Ctx) error {
	if v.authToken == "" {
		// Nobody we call can call back: nothing to receive.
		return web.NotFound()
	}
	form := postParams(c)
	// Security: the URL Twilio signed is BASE_URL + what it asked for; the
	// Host header is the caller's to choose, so it is never used.
	want := TwilioSignature(v.authToken, v.baseURL+c.OriginalURL(), form)
	if !hmac.Equal([]byte(c.Get("X-Twilio-Signature")), []byte(want)) { // Security: constant time
		return web.Forbidden("errors.forbidden.body")
	}
	if v.answered != nil {
		// Digits as signed: from the form, not from the query.
		if err := v.answered(c.UserContext(), c.Query("challenge"), first(form["Digits"])); err != nil {
			return fmt.Errorf("notify: voice callback: %w", err)
		}
	}
	doc, err := replyTwiML(v.bundle, i18n.Match(c.Query("lang"), ""), first(form["Digits"]))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.SendString(xml.Header + doc)
}

// postParams is the request's form, every value of every name.
func postParams(c *fiber.Ctx) map[string][]string {
	form := map[string][]string{}
	c.Request().PostArgs().VisitAll(func(k, val []byte) {
		form[string(k)] = append(form[string(k)], string(val))
	})
	return form
}

func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// TwilioSignature is what Twilio puts in X-Twilio-Signature: the base64
// HMAC-SHA1, keyed with the auth token, of the full URL followed by each
// POST parameter's name and value, sorted by name (and, for a repeated
// name, by value).
func TwilioSignature(authToken, fullURL string, form map[string][]string) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, val := range vals {
			b.WriteString(k)
			b.WriteString(val)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
