package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

// TestTheDeviceKeyIsTheSessions: GET /session/device-key (the key under
// which static/js/offline.js keeps a form sent without signal) needs a
// signed-in session; it is 32 random-looking bytes, the same for the whole
// session, another for another session, even of the same person, and
// never stored by the browser. Another site's page cannot ask for it.
func TestTheDeviceKeyIsTheSessions(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")

	anon := a.Client(t).Get("/session/device-key")
	if anon.StatusCode != http.StatusSeeOther || !strings.HasPrefix(anon.Header.Get("Location"), "/sign-in") {
		t.Fatalf("anonymous: %d to %q, want 303 to sign in", anon.StatusCode, anon.Header.Get("Location"))
	}
	key := func(c *apptest.Client) []byte {
		t.Helper()
		res := c.Get("/session/device-key")
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("device key: %d, Cache-Control %q, Content-Type %q", res.StatusCode, res.Header.Get("Cache-Control"),
				res.Header.Get("Content-Type"))
		}
		var body struct{ Key string }
		if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
			t.Fatal(err)
		}
		k, err := base64.RawURLEncoding.DecodeString(body.Key)
		if err != nil || len(k) != 32 {
			t.Fatalf("the key %q is not 32 bytes of base64url (%v)", body.Key, err)
		}
		return k
	}
	first, second := a.Client(t), a.Client(t)
	a.SignIn(t, first, mum)
	a.SignIn(t, second, mum)
	k1 := key(first)
	if again := key(first); string(again) != string(k1) {
		t.Error("the key changed within one session")
	}
	if k2 := key(second); string(k2) == string(k1) {
		t.Error("two sessions of the same person share a key")
	}

	first.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := first.Get("/session/device-key"); res.StatusCode != http.StatusNotFound {
		t.Errorf("asked from another site: %d, want 404", res.StatusCode)
	}
}
