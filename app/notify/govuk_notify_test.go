package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/app/notify"
)

// A Notify API key as Notify issues them; the name has hyphens of its own.
const (
	notifyServiceID = "26785a09-ab16-4eb0-8407-a37497a57506"
	notifySecret    = "3d844edf-8d35-48ac-975b-e847b4f122b0"
	notifyKey       = "portal-live-key-" + notifyServiceID + "-" + notifySecret
	notifyTemplate  = "f33517ff-2a88-4f6e-b855-c550268ce08a"
)

// notifySMS is what the fake received.
type notifySMS struct {
	PhoneNumber     string            `json:"phone_number"`
	TemplateID      string            `json:"template_id"`
	Personalisation map[string]string `json:"personalisation"`
}

// fakeNotify is GOV.UK Notify's SMS endpoint on loopback. It checks the JWT
// as Notify does and answers status (201 unless set) with reply.
type fakeNotify struct {
	t      *testing.T
	srv    *httptest.Server
	status int
	reply  string

	mu  sync.Mutex
	got []notifySMS
}

func startNotify(t *testing.T) *fakeNotify {
	t.Helper()
	f := &fakeNotify{t: t, status: http.StatusCreated, reply: `{"id":"740e5834-3a29-46b4-9a6f-16142fde533a"}`}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNotify) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2/notifications/sms" {
		f.t.Errorf("Notify got %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if problem := checkNotifyJWT(r.Header.Get("Authorization")); problem != "" {
		f.t.Errorf("Notify refused the token: %s", problem)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var m notifySMS
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("Notify got a body that is not JSON (%v)", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, m)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.reply))
}

func (f *fakeNotify) received() []notifySMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notifySMS(nil), f.got...)
}

// checkNotifyJWT says what is wrong with a bearer token, as Notify sees it.
func checkNotifyJWT(auth string) string {
	token, ok := strings.CutPrefix(auth, "Bearer ")
	parts := strings.Split(token, ".")
	if !ok || len(parts) != 3 {
		return "not a bearer JWT"
	}
	mac := hmac.New(sha256.New, []byte(notifySecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "signature is not HS256 with the secret key"
	}
	var header map[string]string
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &header) != nil ||
		header["alg"] != "HS256" || header["typ"] != "JWT" || len(header) != 2 {
		return "header is not {typ: JWT, alg: HS256}"
	}
	var claims struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &claims) != nil {
		return "claims are not JSON"
	}
	if claims.Iss != notifyServiceID {
		return "iss " + claims.Iss + " is not the service id"
	}
	// Notify allows 30 seconds either way.
	if age := time.Since(time.Unix(claims.Iat, 0)); age < -30*time.Second || age > 30*time.Second {
		return "iat is not now"
	}
	return ""
}

func newNotify(t *testing.T, base string) *notify.GovUKNotify {
	t.Helper()
	g, err := notify.NewGovUKNotify(notify.GovUKNotifyConfig{APIBase: base + "/", APIKey: notifyKey, TemplateID: notifyTemplate})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var codeText = notify.Rendered{Channel: notify.SMS, To: "+447700900123", Lang: "en",
	Body: "Your Children's Services Online code is 908172. Your worker will never ask for this code."}

func TestNotifySendsTheTextWithASignedToken(t *testing.T) {
	f := startNotify(t)
	if err := newNotify(t, f.srv.URL).Send(t.Context(), codeText); err != nil {
		t.Fatal(err)
	}
	got := f.received()
	if len(got) != 1 {
		t.Fatalf("Notify received %d texts, want 1", len(got))
	}
	want := notifySMS{PhoneNumber: codeText.To, TemplateID: notifyTemplate,
		Personalisation: map[string]string{"body": codeText.Body}}
	if got[0].PhoneNumber != want.PhoneNumber || got[0].TemplateID != want.TemplateID ||
		len(got[0].Personalisation) != 1 || got[0].Personalisation["body"] != codeText.Body {
		t.Fatalf("Notify received %+v, want %+v", got[0], want)
	}
}

func TestNotifyRefusalsSayWhyButNeverQuoteTheNumberOrTheText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		reply  string
		want   []string
	}{
		{"a bad request names Notify's error", http.StatusBadRequest,
			`{"errors":[{"error":"BadRequestError","message":"Can't send to this recipient (+447700900123): code is 908172"}],"status_code":400}`,
			[]string{"status 400", "BadRequestError"}},
		{"a rate limit names Notify's error", http.StatusTooManyRequests,
			`{"errors":[{"error":"RateLimitError","message":"Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"}]}`,
			[]string{"status 429", "RateLimitError"}},
		{"a server error without JSON", http.StatusInternalServerError,
			`Internal error sending to 07700900123: Your Children's Services Online code is 908172`,
			[]string{"status 500", "unknown"}},
		{"an error name that quotes the number is not repeated", http.StatusBadRequest,
			`{"errors":[{"error":"+447700900123","message":"x"}]}`,
			[]string{"status 400", "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startNotify(t)
			f.status, f.reply = tc.status, tc.reply
			err := newNotify(t, f.srv.URL).Send(t.Context(), codeText)
			if err == nil {
				t.Fatal("Send reported success")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{"447700900123", "7700900123", "908172", "Your Children's"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes %q", err, secret)
				}
			}
		})
	}
}

func TestNotifyKeysAreReadFromTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"a name with hyphens", notifyKey, true},
		{"a one-letter name", "k-" + notifyServiceID + "-" + notifySecret, true},
		{"no name", notifyServiceID + "-" + notifySecret, false},
		{"no service id", "portal-" + notifySecret, false},
		{"a secret cut short", "portal-" + notifyServiceID + "-" + notifySecret[:35], false},
		{"no hyphens between the parts", "portal_" + notifyServiceID + "_" + notifySecret, false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.NewGovUKNotify(notify.GovUKNotifyConfig{APIKey: tc.key, TemplateID: notifyTemplate})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), notifySecret[:8]) {
				t.Fatalf("error %q quotes the secret", err)
			}
		})
	}
}

func TestNotifySendsOnlyTexts(t *testing.T) {
	f := startNotify(t)
	for _, ch := range []notify.Channel{notify.Email, notify.Voice} {
		if err := newNotify(t, f.srv.URL).Send(t.Context(), notify.Rendered{Channel: ch, To: "x", Body: "b"}); err == nil {
			t.Errorf("Notify accepted a %s", ch)
		}
	}
	if len(f.received()) != 0 {
		t.Fatal("Notify was asked to send something other than a text")
	}
}
