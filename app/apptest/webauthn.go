package apptest

import (
	"context"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// AddVirtualAuthenticator gives the tab's browser a platform passkey
// provider (like a phone's screen lock): CTAP 2.1, built in, holding
// discoverable credentials, verifying its person and touched at once, so
// navigator.credentials.create and .get answer without a dialog. It
// returns the authenticator's id, for Credentials.
func (b *Browser) AddVirtualAuthenticator() string {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.do("add a virtual authenticator", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Without the UI: headless Chromium has no dialog to show.
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
				Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
				AutomaticPresenceSimulation: true}})
		id = res.AuthenticatorID
		return err
	}))
	return string(id)
}

// Credentials are the credentials (passkeys) the virtual authenticator id
// holds, with their private keys: a test can sign what the device would.
func (b *Browser) Credentials(id string) []*webauthn.Credential {
	b.t.Helper()
	var creds []*webauthn.Credential
	b.do("read the authenticator's credentials", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, webauthn.GetCredentials,
			webauthn.GetCredentialsParams{AuthenticatorID: webauthn.AuthenticatorID(id)})
		creds = res.Credentials
		return err
	}))
	return creds
}

// LocalhostURL is the app's URL by the name localhost (same port): the
// address WebAuthn needs, since it refuses IP addresses, and the origin
// the app's relying party accepts for a loopback BASE_URL
// (factors.NewRelyingParty).
func (a *TestApp) LocalhostURL() string { return strings.Replace(a.URL, "127.0.0.1", "localhost", 1) }
