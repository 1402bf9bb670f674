package journeys_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/app/apptest"
)

// passwordRules reads the new-password rules as the page shows them: each
// rule's mark and hidden text, by rule name ("✓, met"; "" when unmarked).
func passwordRules(b *apptest.Browser) map[string]string {
	var rules map[string]string
	b.Eval(`Object.fromEntries([...document.querySelectorAll('#password-rules [data-rule]')].map(li => [li.dataset.rule,
	  li.querySelector('.app-password-rules__mark').textContent + li.querySelector('.app-password-rules__status').textContent]))`, &rules)
	return rules
}

// TestNewPasswordRulesTickAsYouType types a new password key by key on a
// phone and watches the length and kinds rules tick (guide 000, step 9);
// the common-password rule is the server's, marked after Create.
func TestNewPasswordRulesTickAsYouType(t *testing.T) {
	a := newApp(t)
	b := apptest.NewBrowser(t)
	met := "✓, " + tr(t, a.T, "auth.password.rule_met")
	notMet := "✗, " + tr(t, a.T, "auth.password.rule_not_met")
	count := func(n int) string {
		return strings.NewReplacer("{met}", strconv.Itoa(n), "{total}", "3").Replace(tr(t, a.T, "auth.password.rules_count"))
	}

	b.Visit(a.URL + "/sign-up")
	b.Fill("#email", "typing.carer@example.net")
	b.ClickAndWait(`form[action="/sign-up/send"] button`)
	b.Fill("#code", a.LastSent(t, "email", "typing.carer@example.net").Code())
	b.ClickAndWait(`form[action="/sign-up/verify"] button`)
	b.ClickAndWait(`a[href="/sign-up/details"]`)
	if got := passwordRules(b); got["length"] != "" || got["kinds"] != "" || got["common"] != "" {
		t.Fatalf("rules marked before any typing: %q", got)
	}

	// Everything the live region says, from now on.
	b.Eval(`window.__said = []; new MutationObserver(() => {
	  const t = document.getElementById('password-live').textContent; if (t) window.__said.push(t);
	}).observe(document.getElementById('password-live'), {childList: true, characterData: true, subtree: true})`, nil)
	for _, step := range []struct {
		name, keys    string
		length, kinds string
		said          int // what the live region says once typing pauses
	}{
		{"seven letters meet nothing", "kestrel", notMet, notMet, 0},
		{"the eighth letter meets the length", "s", met, notMet, 1},
		{"a number is a second kind", "7", met, notMet, 1},
		{"a capital is the third kind", "K", met, met, 2},
	} {
		t.Run(step.name, func(t *testing.T) {
			b := b.For(t)
			b.Type("#password", step.keys)
			got := passwordRules(b)
			if got["length"] != step.length || got["kinds"] != step.kinds || got["common"] != "" {
				t.Errorf("rules = %q, want length %q, kinds %q and common unmarked", got, step.length, step.kinds)
			}
			want := ""
			if step.said > 0 {
				want = count(step.said)
			}
			b.WaitFor(`document.getElementById('password-live').textContent === `+jsString(want), 5*time.Second)
		})
	}
	var said []string
	b.Eval(`window.__said`, &said)
	if want := []string{count(1), count(2)}; strings.Join(said, "|") != strings.Join(want, "|") {
		t.Errorf("the live region said %q, want %q: once each time the count changed", said, want)
	}
	b.Axe(t)
	assertReflows(t, b)

	// A common password meets both shapes in the browser; the server's
	// answer marks the third rule, and typing again clears that mark.
	b.Fill("#given_name", "Cara")
	b.Fill("#family_name", "Carer")
	b.Fill("#password", "Password1")
	b.Fill("#password_confirm", "Password1")
	if status := b.ClickAndWait(`form[action="/sign-up/details"] button`); status != http.StatusUnprocessableEntity {
		t.Fatalf("a common password: status %d, want 422", status)
	}
	if got := passwordRules(b); got["length"] != met || got["kinds"] != met || got["common"] != notMet {
		t.Fatalf("after Create, rules = %q, want the common rule not met", got)
	}
	b.Axe(t)
	if v := b.CSPViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}
	b.ClearLogs() // Chrome logs the expected 422 itself as a console error
	b.Type("#password", "a")
	if got := passwordRules(b); got["length"] != notMet || got["kinds"] != notMet || got["common"] != "" {
		t.Fatalf("typing again, rules = %q, want the server's mark cleared", got)
	}
	b.AssertClean()
}
