package auth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/auth"
	"portal/app/config"
)

// TestSignInOutcomesAreCountedByMethod: each step of a sign-in counts its
// outcome under its method (password, then the way the second step
// passed), and the metric learns nothing of who.
func TestSignInOutcomesAreCountedByMethod(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{Configure: func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" }})
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	a.NewPerson(t, "locked@example.net", accounts.RoleCitizen, "")

	c := a.Client(t)
	c.Get("/sign-in")
	if res := c.PostForm("/sign-in", url.Values{"email": {p.Email}, "password": {"Not-the-password-1"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong password = %d", res.StatusCode)
	}
	a.PasswordStep(t, c, p)
	c.PostForm("/sign-in/confirm/send", nil)
	code := a.LastSent(t, "sms", "").Code()
	wrong := code[:5] + string('0'+(code[5]-'0'+1)%10)
	if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {wrong}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong code = %d", res.StatusCode)
	}
	if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {code}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right code = %d", res.StatusCode)
	}

	// Ten wrong passwords lock an email; the eleventh try is refused as locked.
	l := a.Client(t)
	l.Get("/sign-in")
	for range auth.LockoutThreshold + 1 {
		l.PostForm("/sign-in", url.Values{"email": {"locked@example.net"}, "password": {"Not-the-password-1"}})
	}

	got := a.Scrape(t)
	for _, tc := range []struct {
		method, outcome string
		want            float64
	}{
		{"password", "failed", 1 + auth.LockoutThreshold - 1},
		{"password", "locked", 2}, // the tenth, which locked it, and the eleventh
		{"password", "success", 1},
		{"text", "failed", 1},
		{"text", "success", 1},
	} {
		if v, _ := got.Value("portal_sign_ins_total", map[string]string{"method": tc.method, "outcome": tc.outcome}); v != tc.want {
			t.Errorf("sign-ins %s/%s = %v, want %v", tc.method, tc.outcome, v, tc.want)
		}
	}
	for _, s := range got["portal_sign_ins_total"].GetMetric() {
		for _, lb := range s.GetLabel() {
			if (lb.GetName() != "method" && lb.GetName() != "outcome") || strings.Contains(lb.GetValue(), "@") {
				t.Errorf("a sign-in label %s=%q", lb.GetName(), lb.GetValue())
			}
		}
	}
}
