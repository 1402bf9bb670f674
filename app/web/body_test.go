package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

// smuggled is a body whose end is a request of its own.
func smuggled(size int) string {
	inner := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	return strings.Repeat("a", size-len(inner)) + inner
}

func TestAnUnreadBodyNeverBecomesTheNextRequest(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	signedIn := a.Client(t)
	a.SignIn(t, signedIn, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker))
	cookie := a.Sessions.CookieName + "=" + signedIn.Cookie(a.Sessions.CookieName)
	body := smuggled(9000) // past the 8 KiB fasthttp reads before a handler
	for _, tt := range []struct{ name, head string }{
		{"a GET with a body", "GET /static/css/app.css HTTP/1.1\r\nHost: x\r\n"},
		{"a POST nobody reads", "POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"},
		{"an upload refused before reading (no CSRF token)", "POST /staff/records/1/documents HTTP/1.1\r\nHost: x\r\n" +
			"Cookie: " + cookie + "\r\nContent-Type: multipart/form-data; boundary=zz\r\nX-CSRF-Token: wrong\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The sentinel closes a connection the server keeps open, so
			// the end of the answers is an event, not a quiet spell.
			answers := a.Raw(t, tt.head+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))+body+apptest.Sentinel)
			if n := len(answers); n > 1 && apptest.IsSentinel(answers[n-1]) {
				answers = answers[:n-1]
			}
			if len(answers) != 1 {
				t.Fatalf("%d answers to one request, want 1 (the body's tail was run as a request)", len(answers))
			}
		})
	}
}

func TestALargeBodyIsRefusedBeforeAnythingReadsIt(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	signedIn := a.Client(t)
	a.SignIn(t, signedIn, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	cookie := "Cookie: " + a.Sessions.CookieName + "=" + signedIn.Cookie(a.Sessions.CookieName) + "\r\n"
	// Only the first 8 KiB are sent (fasthttp reads that much before any
	// handler): an answer proves nothing waited for the 300 MB announced.
	for _, tt := range []struct{ name, head string }{
		{"a form to the upload route from nobody signed in",
			"POST /staff/records/1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"},
		{"a multipart body to the upload route from nobody signed in",
			"POST /staff/records/1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\n"},
		{"a malformed multipart type from someone signed in",
			"POST /staff/records/1/documents HTTP/1.1\r\nHost: x\r\n" + cookie + "Content-Type: multipart/form-data; boundary=zz; junk\r\n"},
		{"a form elsewhere from someone signed in", "POST /profile HTTP/1.1\r\nHost: x\r\n" + cookie +
			"Content-Type: application/x-www-form-urlencoded\r\n"},
		{"a chunked body elsewhere", "POST /profile HTTP/1.1\r\nHost: x\r\n" + cookie + "Transfer-Encoding: chunked\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.head
			if !strings.Contains(head, "chunked") {
				head += "Content-Length: 300000000\r\n"
			}
			answers := a.Raw(t, head+"\r\n"+strings.Repeat("a", apptest.PreRead))
			if len(answers) != 1 || answers[0].StatusCode != http.StatusRequestEntityTooLarge || !answers[0].Close {
				t.Fatalf("answers %v, want one 413 that closes the connection", statuses(answers))
			}
		})
	}
}

func statuses(rs []*http.Response) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.StatusCode)
	}
	return out
}
