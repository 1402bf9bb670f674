package journeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
)

// The sign-in page's passkey form, and the native submit that sends it as
// passkey.js's own form.submit() would, without the page's submit handler
// starting another ceremony.
const (
	passkeyGetForm = `document.querySelector('form[data-passkey="get"]')`
	sendPasskeyGet = `HTMLFormElement.prototype.submit.call(` + passkeyGetForm + `)`
)

// TestAPasskeySignsInWithOneTap follows issue 15 on a phone: a person adds
// a passkey on "Sign-in methods" (their first way besides the phone, so
// they get recovery codes), signs in with one tap and no password or code,
// an attacker's replayed or re-origined answer is refused, and removing the
// passkey stops it signing anyone in.
func TestAPasskeySignsInWithOneTap(t *testing.T) {
	a := newApp(t)
	p := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, p, "+447911123456", true)
	b := apptest.NewBrowser(t)
	// WebAuthn refuses IP addresses: the browser uses the app by the name
	// its relying party accepts (factors.NewRelyingParty).
	site := a.LocalhostURL()
	a.SignInBrowserAt(t, b, p, site)
	authn := b.AddVirtualAuthenticator()
	changed := tr(t, a.T, "email_methods_changed.subject")

	// Add a passkey.
	if status := b.Visit(site + "/profile/sign-in-methods"); status != http.StatusOK || b.Exists("dl#passkeys") {
		t.Fatalf("Sign-in methods = %d at %s, passkeys listed before any was added: %v", status, b.Path(),
			b.Exists("dl#passkeys"))
	}
	b.ClickAndWait(`a[href="/profile/sign-in-methods/passkeys/new"]`)
	// The form shows only where passkey.js found passkeys in the browser.
	b.WaitVisible(`form[data-passkey="create"]`)
	if b.Visible("[data-passkey-unsupported]") {
		t.Error("Add a passkey still says this browser cannot make passkeys")
	}
	b.Axe(t)
	assertReflows(t, b)
	b.Fill("#name", "My phone")
	b.Click(`form[data-passkey="create"] button[type="submit"]`)
	// The first way besides the phone gives recovery codes; a ceremony that
	// failed shows the form's error instead, and the test says so at once.
	b.WaitFor(`document.querySelector('ol#recovery-codes') ||
	  !document.querySelector('form[data-passkey] [data-passkey-error]').hidden`, 10*time.Second)
	if b.Visible("[data-passkey-error]") {
		t.Fatalf("adding the passkey failed: the page says %q%s", b.Text("[data-passkey-error]"), consoleErrors(b))
	}
	var codes int
	b.Eval(`document.querySelectorAll('ol#recovery-codes li').length`, &codes)
	if codes != 10 || b.Text("h1") != tr(t, a.T, "auth.methods.recovery_title") {
		t.Fatalf("after adding the passkey: %s %q with %d codes, want the recovery codes page with 10", b.Path(),
			b.Text("h1"), codes)
	}
	b.Axe(t)
	creds := b.Credentials(authn)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d passkeys, want 1 discoverable one", len(creds))
	}
	key := creds[0].PrivateKey
	if got := a.LastSent(t, "email", p.Email); got.Subject != changed {
		t.Fatalf("after adding a passkey the account was sent %q, want %q", got.Subject, changed)
	}
	emails := sentCount(t, a, p.Email, changed)
	b.ClickAndWait(`a[href="/profile/sign-in-methods"].govuk-button`)
	if got := b.Text("dl#passkeys dt"); got != "My phone" {
		t.Fatalf("Sign-in methods lists %q, want My phone", got)
	}
	b.Axe(t)
	b.AssertClean()

	// One tap: the sign-in page's own script, no password, no code.
	signOut(t, b)
	if status := b.Visit(site + "/sign-in"); status != http.StatusOK {
		t.Fatalf("sign-in page: status %d", status)
	}
	b.WaitVisible("#passkey")
	b.Axe(t)
	b.Click("#passkey")
	b.WaitFor(`location.pathname === "/account"`, 10*time.Second)
	if got, want := b.Text("h1"), tr(t, a.T, "account.select.title"); got != want {
		t.Fatalf("signed in with a passkey, the page says %q, want %q", got, want)
	}
	if n := phoneMessages(t, a); n != 0 {
		t.Fatalf("signing in with a passkey sent %d texts or calls, want none", n)
	}
	b.AssertClean()

	// Or as the second step, after the password, in place of the phone.
	signOut(t, b)
	b.Visit(site + "/sign-in")
	b.Fill("#email", p.Email)
	b.Fill("#password", apptest.Password)
	b.ClickAndWait(`form[action="/sign-in"] button[type=submit]`)
	b.WaitVisible("#passkey")
	b.Click("#passkey")
	b.WaitFor(`location.pathname === "/account"`, 10*time.Second)
	if n := phoneMessages(t, a); n != 0 {
		t.Fatalf("the passkey as the second step sent %d texts or calls, want none", n)
	}
	b.AssertClean()

	// An answer that signed in once, kept by an attacker who saw it.
	signOut(t, b)
	b.Visit(site + "/sign-in")
	used := holdPasskeyAnswer(t, b)
	if status := b.EvalAndWait(sendPasskeyGet); status != http.StatusOK || b.Path() != "/account" {
		t.Fatalf("the held answer, sent once: %d at %s, want /account", status, b.Path())
	}
	b.AssertClean()
	signOut(t, b)

	// Replayed in a fresh ceremony (new options, so the session has a new
	// challenge): refused. Chrome logs the 422 it provokes as a console
	// error, so the logs so far are checked and cleared first.
	b.Visit(site + "/sign-in")
	b.WaitVisible("#passkey")
	var optionsStatus int
	b.Eval(`(async () => { const f = `+passkeyGetForm+`;
	  const r = await fetch(f.getAttribute('data-options'), {method: 'POST', credentials: 'same-origin',
	    headers: {'X-CSRF-Token': f.elements._csrf.value, Accept: 'application/json'}});
	  return r.status; })()`, &optionsStatus)
	if optionsStatus != http.StatusOK {
		t.Fatalf("passkey options for the replay: status %d", optionsStatus)
	}
	b.AssertClean()
	b.ClearLogs()
	b.Eval(passkeyGetForm+`.elements.assertion.value = `+jsString(used), nil)
	refused(t, a, b, site, "a replayed answer")

	// An answer for this challenge claiming another origin (a phishing
	// site's), signed with the passkey's own key so that only the origin is
	// wrong: refused.
	b.Visit(site + "/sign-in")
	forged := signedAgain(t, withOrigin(t, holdPasskeyAnswer(t, b), site, "http://evil.example"), key)
	b.Eval(passkeyGetForm+`.elements.assertion.value = `+jsString(forged), nil)
	refused(t, a, b, site, "an answer from another origin")
	b.AssertCleanExcept("status of 422") // the refusals provoked on purpose
	b.ClearLogs()

	// The same signing, origin untouched, signs in: the refusal above was
	// the origin's.
	b.Visit(site + "/sign-in")
	b.Eval(passkeyGetForm+`.elements.assertion.value = `+jsString(signedAgain(t, holdPasskeyAnswer(t, b), key)), nil)
	if status := b.EvalAndWait(sendPasskeyGet); status != http.StatusOK || b.Path() != "/account" {
		t.Fatalf("an answer signed again with the passkey's key, origin untouched: %d at %s, want /account", status,
			b.Path())
	}

	// Remove it: the person still has their phone, so it is not their last way.
	b.Visit(site + "/profile/sign-in-methods")
	b.ClickAndWait(`dl#passkeys form[action^="/profile/sign-in-methods/passkeys/"] button`)
	if b.Path() != "/profile/sign-in-methods" || b.Exists("dl#passkeys") {
		t.Fatalf("after Remove: %s, passkeys still listed: %v", b.Path(), b.Exists("dl#passkeys"))
	}
	if got, want := b.Text("#flash .govuk-notification-banner__heading"), tr(t, a.T, "auth.passkey.removed"); got != want {
		t.Errorf("after Remove the banner says %q, want %q", got, want)
	}
	b.Axe(t)
	if n := sentCount(t, a, p.Email, changed); n != emails+1 {
		t.Errorf("removing the passkey sent %d emails %q, want 1", n-emails, changed)
	}
	b.AssertClean()

	// The device still holds it, but it no longer signs in.
	signOut(t, b)
	b.Visit(site + "/sign-in")
	holdPasskeyAnswer(t, b)
	b.AssertClean()
	b.ClearLogs()
	refused(t, a, b, site, "a removed passkey")
	b.AssertCleanExcept("status of 422") // the refusals provoked on purpose
	b.ClearLogs()
}

// holdPasskeyAnswer taps "Use a passkey" on the sign-in page and returns
// the answer passkey.js filled in, leaving it unsent: the page's
// form.submit() is shadowed for this form only, and sendPasskeyGet sends
// it later.
func holdPasskeyAnswer(t *testing.T, b *apptest.Browser) string {
	t.Helper()
	b.WaitVisible("#passkey")
	b.Eval(`(() => { const f = `+passkeyGetForm+`;
	  f.submit = () => { window.__heldAnswer = f.elements.assertion.value; }; })()`, nil)
	b.Click("#passkey")
	b.WaitFor(`window.__heldAnswer`, 10*time.Second)
	var answer string
	b.Eval(`window.__heldAnswer`, &answer)
	return answer
}

// refused sends the sign-in page's passkey form as it stands and fails t
// unless "Sign in" comes back with 422 and the passkey's error, and the
// browser is still signed out.
func refused(t *testing.T, a *apptest.TestApp, b *apptest.Browser, site, what string) {
	t.Helper()
	if status := b.EvalAndWait(sendPasskeyGet); status != http.StatusUnprocessableEntity {
		t.Fatalf("%s: status %d at %s, want 422", what, status, b.Path())
	}
	if got, want := b.Text(".govuk-error-summary a"), tr(t, a.T, "auth.passkey.error_failed"); got != want {
		t.Errorf("%s: the error summary says %q, want %q", what, got, want)
	}
	b.Axe(t)
	if b.Visit(site + "/account"); b.Path() != "/sign-in" {
		t.Fatalf("%s: /account then shows %s, want the sign-in page", what, b.Path())
	}
}

// withOrigin is a passkey answer whose signed client data names origin
// instead of site, byte for byte the same otherwise.
func withOrigin(t *testing.T, answer, site, origin string) string {
	t.Helper()
	var cred map[string]any
	if err := json.Unmarshal([]byte(answer), &cred); err != nil {
		t.Fatalf("the passkey answer is not JSON: %v", err)
	}
	resp, _ := cred["response"].(map[string]any)
	encoded, _ := resp["clientDataJSON"].(string)
	clientData, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("clientDataJSON: %v", err)
	}
	from, _ := json.Marshal(site)
	to, _ := json.Marshal(origin)
	if !strings.Contains(string(clientData), `"origin":`+string(from)) {
		t.Fatalf("the browser's client data %s does not name %s", clientData, site)
	}
	resp["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(
		[]byte(strings.Replace(string(clientData), `"origin":`+string(from), `"origin":`+string(to), 1)))
	out, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// signedAgain is a passkey answer with a new signature by key (the
// credential's PKCS#8 private key, from the virtual authenticator) over its
// authenticator data and client data, as the device signs them.
func signedAgain(t *testing.T, answer string, key []byte) string {
	t.Helper()
	var cred map[string]any
	if err := json.Unmarshal([]byte(answer), &cred); err != nil {
		t.Fatalf("the passkey answer is not JSON: %v", err)
	}
	resp, _ := cred["response"].(map[string]any)
	authData, err1 := base64.RawURLEncoding.DecodeString(fmt.Sprint(resp["authenticatorData"]))
	clientData, err2 := base64.RawURLEncoding.DecodeString(fmt.Sprint(resp["clientDataJSON"]))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("the passkey answer: %v", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("the passkey's key: %v", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("the passkey's key is a %T, want ECDSA", parsed)
	}
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(authData, hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp["signature"] = base64.RawURLEncoding.EncodeToString(sig)
	out, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// consoleErrors lists the page's console errors, to explain a failure.
func consoleErrors(b *apptest.Browser) string {
	var s string
	for _, e := range b.ConsoleErrors() {
		s += "\n  console: " + e.String()
	}
	return s
}

// signOut uses "Log out" in the menu under the person's name.
func signOut(t *testing.T, b *apptest.Browser) {
	t.Helper()
	b.Click("summary.app-account-menu__summary")
	b.ClickAndWait(`.app-account-menu form[action="/sign-out"] button`)
	if b.Path() != "/signed-out" {
		t.Fatalf("after Log out: %s", b.Path())
	}
}

// sentCount is how many emails with subject went to email.
func sentCount(t *testing.T, a *apptest.TestApp, email, subject string) int {
	t.Helper()
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE channel = 'email' AND recipient = ? AND subject = ?`,
		email, subject).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// phoneMessages is how many texts and calls were sent.
func phoneMessages(t *testing.T, a *apptest.TestApp) int {
	t.Helper()
	if err := a.Notifier.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.DB.Gorm.Raw(`SELECT count(*) FROM outbox_messages WHERE channel IN ('sms', 'voice')`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
