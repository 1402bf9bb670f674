package auth

import "testing"

// TestDeviceOfNamesBrowsersFromAClosedList: the names the "New sign-in"
// email may carry, from real User-Agents; anything else is "other".
func TestDeviceOfNamesBrowsersFromAClosedList(t *testing.T) {
	for _, c := range []struct{ ua, browser, system string }{
		{"Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "samsung", "android"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "chrome", "android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "safari", "ios"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1", "chrome", "ios"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "edge", "windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", "firefox", "mac"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "chrome", "chromeos"},
		{"Go-http-client/1.1", "other_browser", "other_system"},
		{"", "other_browser", "other_system"},
	} {
		if b, s := deviceOf(c.ua); b != c.browser || s != c.system {
			t.Errorf("%q = %s on %s, want %s on %s", c.ua, b, s, c.browser, c.system)
		}
	}
}
