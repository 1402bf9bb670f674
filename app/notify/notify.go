// Package notify sends the portal's emails, text messages and phone calls.
//
// Invariants:
//   - Nothing personal goes into any email, SMS or call: a body or subject
//     holds only a one-time code, links built from BASE_URL and the
//     service's configured name, never a person's name, a record detail or
//     message text. This is enforced, not hoped for: a Message carries at
//     most a Code and a Link (Render refuses any other data), and the
//     message texts in locales/notify.*.toml interpolate only {{.Code}},
//     {{.Link}} and {{.Service}} (a test checks every one).
//   - A link is BASE_URL + a path on this site; it is never built from the
//     request's Host header, which an attacker can set.
//   - Every message goes through the Postgres-backed River queue, so a
//     provider that is down loses nothing: River retries with backoff. The
//     queued job holds the message sealed (AES-GCM), so the recipient and the
//     code are not readable in river_job.
//   - A retry never sends again what a provider took: each outcome is
//     recorded against its job (notify_deliveries.job_id, one "sent" per
//     job) and checked before a retry; every attempt carries the job's
//     Reference (GOV.UK Notify's reference, looked up before a retry; an
//     email's Message-ID). Twilio keeps no reference of ours, so only its
//     answer lost after it took a message can give a duplicate (the same
//     words). A refusal for good (HTTP 4xx but 408 and 429; SMTP 5xx for the
//     recipient) is given up at once, not retried.
//   - A provider's error names the gateway's status and error code, never the
//     phone number, the address or the words sent: River stores and logs it.
//   - A call's callback (POST /callbacks/voice) is believed only when its
//     X-Twilio-Signature is the HMAC, under TWILIO_AUTH_TOKEN, of BASE_URL +
//     the path and query received (never the Host header) + the form; when
//     no voice provider is Twilio the route is a 404.
//   - The dev outbox (a provider that stops at the outbox_messages table, and
//     the pages at /dev/outbox) exists only outside production: the provider
//     is refused in production and the app mounts the pages only when
//     APP_ENV=development.
package notify

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"portal/app/clock"
	"portal/app/i18n"
	"portal/app/web"
)

// Channel is how a message reaches a person.
type Channel string

// The channels the portal speaks on.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
	Voice Channel = "voice"
)

// Valid reports whether c is a channel the portal knows.
func (c Channel) Valid() bool { return c == Email || c == SMS || c == Voice }

// Message is what a feature asks to send. It names a text in
// locales/notify.*.toml rather than carrying text, so every word that leaves
// the portal has been reviewed in both languages.
type Message struct {
	Channel Channel
	To      string // email address or phone number
	// Template is the message id prefix in locales/notify.*.toml, e.g.
	// "email_verification_code"; it starts with the channel's name and "_".
	Template string
	Lang     string // "en" or "cy"; anything else falls back to English
	// Data fills the template. Only "Code" (letters, digits, hyphens) and
	// "Link" (a path on this site; the notifier prefixes BASE_URL) exist.
	Data map[string]string
	// AnswerToken is for voice only: the challenge id the provider's callback
	// (or the dev outbox's answer button) carries back when the person
	// answers and presses #.
	AnswerToken string
	// Discard queues the message like any other and has the worker drop it
	// unsent. Security: a request that must not reveal whether an address
	// has an account (a password reset for an unknown address) does the
	// same work as one that sends.
	Discard bool `json:",omitempty"`
}

// Rendered is a message in its final words, as a provider sends it.
type Rendered struct {
	Channel     Channel
	To          string
	Subject     string // email only
	Body        string
	AnswerToken string // voice only
	// Lang is the language the words are in ("en" or "cy"): a call's
	// provider picks its voice, and the words it adds, by it.
	Lang string
	// Reference is the same for every attempt at one queued message (and
	// unique to it), so a provider that keeps references can tell a retry
	// from a new message: GOV.UK Notify's reference, an email's
	// Message-ID. Empty when the message was not queued.
	Reference string
	// Retry is set when an earlier attempt may have reached the provider:
	// a provider that can look up Reference checks before sending again.
	Retry bool
}

// Data keys a template may use. Security: this list is the whole of what a
// feature can put into a message; adding a key means arguing that it can
// never be personal.
const (
	DataCode = "Code"
	DataLink = "Link"
	// DataTime is a moment, given as RFC 3339 and written in the message's
	// language and London's time ("7 December 2026, 14:05").
	DataTime = "Time"
	// DataBrowser and DataSystem name a browser and an operating system
	// from a closed list (Browsers, Systems), never the User-Agent's text.
	DataBrowser = "Browser"
	DataSystem  = "System"
	// DataService is the service's name from the configuration; the
	// renderer adds it to every message, and no caller can set it.
	DataService = "Service"
)

// Browsers and Systems are the names DataBrowser and DataSystem may carry
// (locales: notify.device.<name>).
var (
	Browsers = []string{"chrome", "edge", "firefox", "safari", "samsung", "opera", "other_browser"}
	Systems  = []string{"android", "ios", "windows", "mac", "linux", "chromeos", "other_system"}
)

var (
	templateRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	codeRE     = regexp.MustCompile(`^[A-Za-z0-9-]{1,32}$`)
)

// ErrInvalid wraps every reason Render refuses a message; it is a
// programming error in the caller, so Send reports it at once instead of
// leaving it to fail in the queue.
var ErrInvalid = errors.New("notify: invalid message")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// renderer turns a Message into words.
type renderer struct {
	bundle  *i18n.Bundle
	baseURL string
	// service is the service's name by language (SERVICE_NAME and
	// SERVICE_NAME_CY); a language without one uses notify.service.
	service map[string]string
}

// render checks m and fills its template. Errors never quote the recipient
// or the data: they end up in logs and in river_job.errors.
func (r renderer) render(m Message) (Rendered, error) {
	if !m.Channel.Valid() {
		return Rendered{}, invalid("unknown channel %q", m.Channel)
	}
	if strings.TrimSpace(m.To) == "" || strings.ContainsAny(m.To, "\r\n") {
		return Rendered{}, invalid("recipient missing or malformed")
	}
	if !templateRE.MatchString(m.Template) || !strings.HasPrefix(m.Template, string(m.Channel)+"_") {
		// The prefix rule keeps a voice script from going out as an email.
		return Rendered{}, invalid("template %q is not a %s template", m.Template, m.Channel)
	}
	if (m.Channel == Voice) != (m.AnswerToken != "") {
		return Rendered{}, invalid("an answer token belongs to, and only to, a call")
	}
	lang := i18n.Match(m.Lang, "")
	loc := r.bundle.For(lang)
	args := make([]any, 0, 2*len(m.Data))
	for k, v := range m.Data {
		switch k {
		case DataCode:
			if !codeRE.MatchString(v) {
				return Rendered{}, invalid("Code must be 1-32 letters, digits or hyphens")
			}
		case DataLink:
			// Security: only a path on this site; the host is always BASE_URL.
			if len(v) > 2048 || web.SafeRedirect(v, "") == "" || strings.ContainsAny(v, " <>\"") {
				return Rendered{}, invalid("Link must be a path on this site")
			}
			v = r.baseURL + v
		case DataTime:
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return Rendered{}, invalid("Time must be RFC 3339")
			}
			t = t.In(clock.London)
			v = fmt.Sprintf("%d %s %d, %s", t.Day(), loc.T(fmt.Sprintf("time.month_%d", int(t.Month()))), t.Year(), t.Format("15:04"))
		case DataBrowser, DataSystem:
			if !slices.Contains(Browsers, v) && !slices.Contains(Systems, v) {
				return Rendered{}, invalid("%s must be one of the known names", k)
			}
			v = loc.T("notify.device." + v)
		default:
			return Rendered{}, invalid("data key %q is not allowed", k)
		}
		args = append(args, k, v)
	}
	service := r.service[lang]
	if service == "" {
		service = loc.T("notify.service")
	}
	args = append(args, DataService, service)
	out := Rendered{Channel: m.Channel, To: m.To, AnswerToken: m.AnswerToken, Lang: lang}
	bodyID := m.Template + ".body"
	if !r.bundle.Has("en", bodyID) {
		return Rendered{}, invalid("no message %q in locales/notify.en.toml", bodyID)
	}
	out.Body = loc.T(bodyID, args...)
	if m.Channel == Email {
		subjectID := m.Template + ".subject"
		if !r.bundle.Has("en", subjectID) {
			return Rendered{}, invalid("no message %q in locales/notify.en.toml", subjectID)
		}
		out.Subject = loc.T(subjectID, DataService, service)
	}
	// go-i18n renders a key the caller did not give as "<no value>", and
	// gives up (T then returns the id) when there is no data at all.
	if out.Body == bodyID || strings.Contains(out.Body, "<no value>") {
		return Rendered{}, invalid("template %q needs data it was not given", m.Template)
	}
	return out, nil
}
