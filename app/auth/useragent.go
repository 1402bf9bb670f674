package auth

import "strings"

// deviceOf names a browser and its system from a User-Agent, for the "New
// sign-in" email: one of notify.Browsers and one of notify.Systems, never
// the header's own text (which a client writes as it likes). The order of
// the checks matters: Edge, Opera and Samsung Internet also say "Chrome",
// Chrome says "Safari", iPads may say "Macintosh".
func deviceOf(ua string) (browser, system string) {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Edg/") || has("EdgA/") || has("EdgiOS/"):
		browser = "edge"
	case has("OPR/") || has("Opera"):
		browser = "opera"
	case has("SamsungBrowser/"):
		browser = "samsung"
	case has("Firefox/") || has("FxiOS/"):
		browser = "firefox"
	case has("Chrome/") || has("CriOS/") || has("Chromium/"):
		browser = "chrome"
	case has("Safari/"):
		browser = "safari"
	default:
		browser = "other_browser"
	}
	switch {
	case has("Android"):
		system = "android"
	case has("iPhone") || has("iPad") || has("iPod"):
		system = "ios"
	case has("CrOS"):
		system = "chromeos"
	case has("Windows"):
		system = "windows"
	case has("Macintosh") || has("Mac OS X"):
		system = "mac"
	case has("Linux"):
		system = "linux"
	default:
		system = "other_system"
	}
	return browser, system
}
