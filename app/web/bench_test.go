package web_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

// BenchmarkPages measures whole requests through the real app over loopback
// and prints each page's cost as a ratio to /healthz (the floor: routing and
// middleware only), so a change shows up as a ratio, not a machine-dependent
// time. Run with `make bench`.
func BenchmarkPages(b *testing.B) {
	a := apptest.NewApp(b, apptest.Options{})
	person := a.NewPerson(b, "bench@example.net", accounts.RoleCitizen, "")
	signedIn := a.Client(b)
	a.SignIn(b, signedIn, person)
	cookie := a.Sessions.CookieName + "=" + signedIn.Cookie(a.Sessions.CookieName)

	cases := []struct {
		name, path string
		header     map[string]string
	}{
		{"healthz", "/healthz", nil},
		{"static css", "/static/css/app.css", nil},
		{"home page", "/", nil},
		{"help page", "/help", nil},
		{"help fragment (HTMX)", "/help", map[string]string{"HX-Request": "true"}},
		{"signed-in page", "/account", map[string]string{"Cookie": cookie}},
	}
	nsPerOp := map[string]float64{}
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest(http.MethodGet, a.URL+tc.path, nil)
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("%s: status %d", tc.path, res.StatusCode)
				}
			}
			// The framework calls this with growing b.N; the last run counts.
			nsPerOp[tc.name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	floor := nsPerOp["healthz"]
	fmt.Printf("\n%-24s %12s %10s\n", "request", "ns/op", "× healthz")
	for _, tc := range cases {
		fmt.Printf("%-24s %12.0f %10.1f\n", tc.name, nsPerOp[tc.name], nsPerOp[tc.name]/floor)
	}
}
