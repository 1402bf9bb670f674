package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// GovUKNotifyConfig says how to reach GOV.UK Notify (NOTIFY_*).
type GovUKNotifyConfig struct {
	APIBase string // NOTIFY_BASE_URL, e.g. https://api.notifications.service.gov.uk
	// APIKey is NOTIFY_API_KEY: {key_name}-{service_id}-{secret_key}.
	APIKey string
	// TemplateID is a Notify text message template whose whole content is
	// ((body)): the words are ours, reviewed in locales/notify.*.toml, and
	// Notify only carries them.
	TemplateID string
	// Timeout bounds each request; 0 is GatewayTimeout.
	Timeout time.Duration
}

// GovUKNotify sends text messages through GOV.UK Notify's API. Notify makes
// no phone calls; those go through Twilio.
type GovUKNotify struct {
	endpoint   string // POST: send a text
	lookup     string // GET: notifications by reference
	serviceID  string
	secret     []byte
	templateID string
	client     *http.Client
}

// uuidRE is the shape of Notify's ids and of the two halves of its keys.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NewGovUKNotify checks cfg and returns the provider.
func NewGovUKNotify(cfg GovUKNotifyConfig) (*GovUKNotify, error) {
	if cfg.APIBase == "" {
		cfg.APIBase = "https://api.notifications.service.gov.uk"
	}
	serviceID, secret, err := parseNotifyKey(cfg.APIKey)
	if err != nil {
		return nil, err
	}
	if cfg.TemplateID == "" {
		return nil, errors.New("notify: NOTIFY_SMS_TEMPLATE_ID is required")
	}
	base := strings.TrimRight(cfg.APIBase, "/") + "/v2/notifications"
	return &GovUKNotify{endpoint: base + "/sms", lookup: base,
		serviceID: serviceID, secret: []byte(secret), templateID: cfg.TemplateID, client: newGatewayClient(cfg.Timeout)}, nil
}

// notifyUUID is the length of each of the key's two UUIDs.
const notifyUUID = 36

// parseNotifyKey splits {key_name}-{service_id}-{secret_key}. The key name
// may itself hold hyphens, so the two UUIDs are counted from the end, as
// Notify's own clients do.
func parseNotifyKey(key string) (serviceID, secret string, err error) {
	// Security: the message never quotes the key; it holds the secret.
	bad := errors.New("notify: NOTIFY_API_KEY must be {key_name}-{service_id}-{secret_key}")
	n := len(key)
	if n < 2*notifyUUID+3 || key[n-notifyUUID-1] != '-' || key[n-2*notifyUUID-2] != '-' {
		return "", "", bad
	}
	serviceID, secret = key[n-2*notifyUUID-1:n-notifyUUID-1], key[n-notifyUUID:]
	if !uuidRE.MatchString(serviceID) || !uuidRE.MatchString(secret) {
		return "", "", bad
	}
	return serviceID, secret, nil
}

// notifySMS is the body of POST /v2/notifications/sms.
type notifySMS struct {
	PhoneNumber     string            `json:"phone_number"`
	TemplateID      string            `json:"template_id"`
	Personalisation map[string]string `json:"personalisation"`
	Reference       string            `json:"reference,omitempty"`
}

// Send sends a text message; other channels are refused. The message's
// Reference goes with it; on a retry, Notify is first asked whether it
// already holds a text with that reference (an earlier attempt that Notify
// took but whose answer was lost), and then nothing is sent again.
func (g *GovUKNotify) Send(ctx context.Context, r Rendered) error {
	if r.Channel != SMS {
		return fmt.Errorf("notify: the GOV.UK Notify provider sends texts, not %s", r.Channel)
	}
	if r.Retry && r.Reference != "" {
		taken, err := g.holds(ctx, r.Reference)
		if err != nil || taken {
			// Security of delivery: when Notify cannot say, we do not send
			// blind; the queue asks again later.
			return err
		}
	}
	body, err := json.Marshal(notifySMS{PhoneNumber: r.To, TemplateID: g.templateID,
		Personalisation: map[string]string{"body": r.Body}, Reference: r.Reference})
	if err != nil {
		return fmt.Errorf("notify: GOV.UK Notify: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: GOV.UK Notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	// Notify refuses a token whose iat is more than 30 seconds from its own
	// clock, so this is the wall clock, never the app's movable one.
	req.Header.Set("Authorization", "Bearer "+notifyJWT(g.serviceID, g.secret, time.Now()))
	return callGateway(g.client, req, "GOV.UK Notify", notifyErrorCode, nil)
}

// holds asks Notify whether it has a text with this reference
// (GET /v2/notifications?reference=…&template_type=sms; Notify keeps them
// for 7 days, far longer than a text is retried).
func (g *GovUKNotify) holds(ctx context.Context, reference string) (bool, error) {
	q := url.Values{"reference": {reference}, "template_type": {"sms"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.lookup+"?"+q.Encode(), nil)
	if err != nil {
		return false, fmt.Errorf("notify: GOV.UK Notify: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+notifyJWT(g.serviceID, g.secret, time.Now()))
	var reply struct {
		Notifications []struct {
			Reference string `json:"reference"`
		} `json:"notifications"`
	}
	err = callGateway(g.client, req, "GOV.UK Notify", notifyErrorCode, func(body []byte) error {
		return json.Unmarshal(body, &reply)
	})
	if err != nil {
		return false, err
	}
	for _, n := range reply.Notifications {
		if n.Reference == reference {
			return true, nil
		}
	}
	return false, nil
}

// notifyJWTHeader is the JOSE header Notify expects, base64url encoded.
var notifyJWTHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

// notifyJWT is the short-lived token Notify authenticates a request with:
// HS256 over the claims {"iss": service id, "iat": now}, keyed with the
// key's secret half. It is built here rather than with a JWT module: it is
// one HMAC, and one module fewer is one supply chain fewer.
func notifyJWT(serviceID string, secret []byte, now time.Time) string {
	claims, _ := json.Marshal(struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{serviceID, now.Unix()}) // a struct of a string and an int always encodes
	signing := notifyJWTHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// notifyCodeRE is the shape of Notify's error names (BadRequestError,
// AuthError, RateLimitError…).
var notifyCodeRE = regexp.MustCompile(`^[A-Za-z]{1,64}$`)

// notifyErrorCode reads the error names from Notify's reply,
// {"errors": [{"error": "BadRequestError", "message": "…"}]}. Security: the
// messages are dropped (they may quote the number), and a name that is not
// a plain word is not trusted to be one.
func notifyErrorCode(body []byte) string {
	var reply struct {
		Errors []struct {
			Error string `json:"error"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &reply) != nil {
		return "unknown"
	}
	var names []string
	for _, e := range reply.Errors {
		if notifyCodeRE.MatchString(e.Error) {
			names = append(names, e.Error)
		}
	}
	if len(names) == 0 {
		return "unknown"
	}
	return strings.Join(names, ",")
}
