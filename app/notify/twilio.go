package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"portal/app/i18n"
)

// TwilioConfig says how to reach Twilio, or any gateway that speaks its API
// (TWILIO_*), and where its call callbacks come back.
type TwilioConfig struct {
	APIBase    string // TWILIO_BASE_URL, e.g. https://api.twilio.com
	AccountSID string
	AuthToken  string
	From       string // the number texts and calls come from
	// PortalBase is BASE_URL: a call's keypad answer is posted back to
	// PortalBase + VoiceCallbackPath.
	PortalBase string
	// Bundle holds the words a call adds around its message (the reply when
	// nobody presses a key).
	Bundle *i18n.Bundle
	// Timeout bounds each request; 0 is GatewayTimeout.
	Timeout time.Duration
}

// Twilio sends text messages and makes phone calls through Twilio's REST
// API. A call reads the message and waits for one key; Twilio posts the key
// to VoiceCallbacks.
type Twilio struct {
	messagesURL string
	callsURL    string
	sid, token  string
	from        string
	portalBase  string
	bundle      *i18n.Bundle
	client      *http.Client
}

// NewTwilio checks cfg and returns the provider.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.APIBase == "" {
		cfg.APIBase = "https://api.twilio.com"
	}
	for _, need := range []struct{ name, val string }{
		{"TWILIO_ACCOUNT_SID", cfg.AccountSID}, {"TWILIO_AUTH_TOKEN", cfg.AuthToken},
		{"TWILIO_FROM", cfg.From}, {"BASE_URL", cfg.PortalBase},
	} {
		if need.val == "" {
			return nil, fmt.Errorf("notify: %s is required for Twilio", need.name)
		}
	}
	if cfg.Bundle == nil {
		return nil, errors.New("notify: Twilio needs the message bundle for its calls' words")
	}
	account := strings.TrimRight(cfg.APIBase, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID)
	return &Twilio{messagesURL: account + "/Messages.json", callsURL: account + "/Calls.json",
		sid: cfg.AccountSID, token: cfg.AuthToken, from: cfg.From,
		portalBase: strings.TrimRight(cfg.PortalBase, "/"), bundle: cfg.Bundle, client: newGatewayClient(cfg.Timeout)}, nil
}

// Send sends a text message or makes a call; email is refused.
//
// Twilio has no idempotency key and cannot be asked for a reference of
// ours, so a retry after Twilio took a message but its answer was lost (a
// timeout at the wrong moment) sends it a second time: the same words, so
// the same code or the same call's challenge, which works once. Every
// other retry is covered by the worker's record of the jobs sent.
func (t *Twilio) Send(ctx context.Context, r Rendered) error {
	switch r.Channel {
	case SMS:
		return t.post(ctx, t.messagesURL, url.Values{"To": {r.To}, "From": {t.from}, "Body": {r.Body}})
	case Voice:
		doc, err := t.callTwiML(r)
		if err != nil {
			return err
		}
		return t.post(ctx, t.callsURL, url.Values{"To": {r.To}, "From": {t.from}, "Twiml": {doc}})
	default:
		return fmt.Errorf("notify: the Twilio provider sends texts and calls, not %s", r.Channel)
	}
}

// post sends form to one of the account's resources.
func (t *Twilio) post(ctx context.Context, endpoint string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("notify: Twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(t.sid, t.token)
	return callGateway(t.client, req, "Twilio", twilioErrorCode, nil)
}

// twilioErrorCode reads the numeric code from Twilio's error reply,
// {"code": 21211, "message": "…", "status": 400}. Security: the message is
// dropped; it quotes the number.
func twilioErrorCode(body []byte) string {
	var reply struct {
		Code int `json:"code"`
	}
	if json.Unmarshal(body, &reply) != nil || reply.Code <= 0 {
		return "unknown"
	}
	return strconv.Itoa(reply.Code)
}
