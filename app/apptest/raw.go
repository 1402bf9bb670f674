package apptest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// PreRead is how much of a body fasthttp reads before any handler runs
// (StreamRequestBody): a request that sends no more than this is answered
// without the server ever waiting for, or leaving unread, the rest.
const PreRead = 8 << 10

// rawGuard bounds a raw exchange: a server that waits for a body the test
// never sends fails the test instead of hanging it. It is not a measure.
const rawGuard = time.Minute

// Raw sends request bytes on a fresh connection and returns every answer
// the server gives until it closes the connection. A request whose
// connection may stay open must end with a last request that closes it
// (see Sentinel), so the end is an event, never a quiet spell.
func (a *TestApp) Raw(t testing.TB, request string) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(rawGuard)); err != nil {
		t.Fatal(err)
	}
	// Written in the background: a server that answers early and closes
	// may reset the connection while the request is still going out, and
	// the answer, already here, must still be read.
	go func() { _, _ = conn.Write([]byte(request)) }()
	br := bufio.NewReader(conn)
	var out []*http.Response
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("no end to the answers after %s (got %d)", rawGuard, len(out))
			}
			return out
		}
		res.Body.Close()
		out = append(out, res)
		if res.Close {
			return out
		}
	}
}

// Sentinel is a last request that asks the server to close the connection
// after answering it: /healthz, answered 200.
const Sentinel = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

// IsSentinel reports whether res is the answer to Sentinel.
func IsSentinel(res *http.Response) bool {
	return res.StatusCode == http.StatusOK && res.Header.Get("Content-Type") == "application/json"
}

// AnnounceBody sends method path with c's cookies and CSRF token and a
// Content-Length of size, but only the first PreRead bytes of the body,
// and returns the status of the one answer. It tests a limit that must
// refuse a body by its announced size, without the race of a client still
// writing when the server answers and closes.
func (c *Client) AnnounceBody(a *TestApp, method, path, contentType string, size int) int {
	c.t.Helper()
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n", method, path, contentType, size)
	if c.csrf != "" {
		fmt.Fprintf(&head, "X-CSRF-Token: %s\r\n", c.csrf)
	}
	for _, ck := range c.http.Jar.Cookies(c.base) {
		fmt.Fprintf(&head, "Cookie: %s=%s\r\n", ck.Name, ck.Value)
	}
	head.WriteString("\r\n")
	head.WriteString(strings.Repeat("x", min(size, PreRead)))
	answers := a.Raw(c.t, head.String())
	if len(answers) != 1 {
		c.t.Fatalf("%d answers to one request", len(answers))
	}
	return answers[0].StatusCode
}
