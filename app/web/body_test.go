package web_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/app"

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

// TestASlowClientHoldsAConnectionOnlySoLong: a head that trickles is cut
// off at Slow.Head, a body at Slow.Body, and one address holds at most
// Slow.PerIP connections. The limits are shortened here; the test waits
// for the server to close, and asserts no time.
func TestASlowClientHoldsAConnectionOnlySoLong(t *testing.T) {
	slow := app.SlowLimits{Head: time.Second, Body: 2 * time.Second, Upload: 3 * time.Second, PerIP: 4}
	a := apptest.NewApp(t, apptest.Options{Tune: func(d *app.Deps) { d.Slow = slow }})
	addr := strings.TrimPrefix(a.URL, "http://")
	closed := func(name, send string) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(time.Minute)) // a guard, far beyond the limits
		if _, err := conn.Write([]byte(send)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(conn); err != nil {
			t.Errorf("%s: the connection was held (%v)", name, err)
		}
	}
	closed("a head that never ends", "GET / HTTP/1.1\r\nHost: x\r\n")
	closed("a body that never comes", "POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=")

	// The connections below send nothing for a while: a long head limit,
	// so only the cap on connections can close them.
	slow.Head = time.Hour
	a = apptest.NewApp(t, apptest.Options{Tune: func(d *app.Deps) { d.Slow = slow }})
	addr = strings.TrimPrefix(a.URL, "http://")

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range slow.PerIP {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The server counts a connection once it accepts it: an answer on the
	// last one proves all four are counted before the fifth arrives.
	conns[len(conns)-1].Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	if res, err := http.ReadResponse(bufio.NewReader(conns[len(conns)-1]), nil); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the 4th connection: %v", err)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetDeadline(time.Now().Add(time.Minute))
	extra.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	if res, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil {
		t.Errorf("a 5th connection from one address was answered %d, want it closed", res.StatusCode)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("a 5th connection from one address was held, not closed")
	}
	conns[0].Close()
	// Its place is free again once one closes (the server notices the
	// close and gives the place back): a new connection is answered.
	for end := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		again, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		again.SetDeadline(time.Now().Add(time.Minute))
		again.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		res, err := http.ReadResponse(bufio.NewReader(again), nil)
		again.Close()
		if err == nil && res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(end) {
			t.Fatal("no connection is answered after one of the four closed")
		}
	}
}
