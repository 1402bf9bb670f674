package apptest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// Client is a browser without JavaScript: it keeps cookies, does not follow
// redirects (tests assert them) and sends the CSRF token of the last page.
type Client struct {
	t    testing.TB
	base *url.URL
	http *http.Client
	csrf string
	// Header is added to every request (e.g. HX-Request, X-Portal-Passive).
	Header http.Header
}

// Response is a finished request with its body read and parsed.
type Response struct {
	*http.Response
	Body string
	Doc  *goquery.Document
}

// Client returns a new client of the app, with an empty cookie jar.
func (a *TestApp) Client(t testing.TB) *Client { return newClient(t, a.URL) }

// newClient is a client of the server at address, with an empty cookie
// jar, that does not follow redirects.
func newClient(t testing.TB, address string) *Client {
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(address)
	return &Client{t: t, base: base, Header: http.Header{}, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// SetCookie puts a cookie in the jar for the app's address.
func (c *Client) SetCookie(name, value string) {
	c.http.Jar.SetCookies(c.base, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// Cookie returns the value of a cookie the app set, or "".
func (c *Client) Cookie(name string) string {
	for _, ck := range c.http.Jar.Cookies(c.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// Get fetches path.
func (c *Client) Get(path string) *Response {
	return c.Do(http.MethodGet, path, nil, "")
}

// PostForm posts form values with the CSRF token of the last page.
func (c *Client) PostForm(path string, form url.Values) *Response {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" && c.csrf != "" {
		form.Set("_csrf", c.csrf)
	}
	return c.Do(http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// TryPostForm posts form values, as PostForm does, from any goroutine (a
// client typing while the test crashes a component): see TryDo.
func (c *Client) TryPostForm(path string, form url.Values) (int, http.Header, error) {
	if form.Get("_csrf") == "" && c.csrf != "" {
		form.Set("_csrf", c.csrf)
	}
	return c.TryDo(http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// TryDo sends a request, as Do does, from any goroutine: an error that
// stopped the request (a machine killed under it) is returned, not fatal,
// and the answer is its status and headers (its body is read and
// dropped). The client's CSRF token is not changed.
func (c *Client) TryDo(method, path string, body io.Reader, contentType string) (int, http.Header, error) {
	res, err := c.send(method, path, body, contentType)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header, err
}

// send makes a request with the client's header and cookies.
func (c *Client) send(method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequest(method, c.base.String()+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.http.Do(req)
}

// On is this client (its cookies, so its session) talking to another
// address: the same browser sent to another machine of the service.
func (c *Client) On(address string) *Client {
	base, _ := url.Parse(address)
	return &Client{t: c.t, base: base, Header: http.Header{}, http: c.http}
}

// CSRF is the token of the last page fetched.
func (c *Client) CSRF() string { return c.csrf }

// Do sends any request.
func (c *Client) Do(method, path string, body io.Reader, contentType string) *Response {
	c.t.Helper()
	res, err := c.send(method, path, body, contentType)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := &Response{Response: res, Body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		r.Doc, err = goquery.NewDocumentFromReader(bytes.NewReader(b))
		if err != nil {
			c.t.Fatal(err)
		}
		// The page's token: its head's (a session's), else its forms' (a
		// visitor's), as a browser posts it.
		if tok, ok := r.Doc.Find(`meta[name="csrf-token"]`).Attr("content"); ok {
			c.csrf = tok
		} else if tok, ok := r.Doc.Find(`input[name="_csrf"]`).Attr("value"); ok {
			c.csrf = tok
		}
		// Every page any test fetches is checked for a translation that
		// failed (its message id shown instead of its words).
		if keys := MessageKeys(c.t, r.Body); len(keys) > 0 {
			c.t.Errorf("%s %s shows message ids instead of words: %v", method, path, keys)
		}
	}
	return r
}

// Text is the whitespace-folded text of the elements matching selector.
func (r *Response) Text(selector string) string {
	if r.Doc == nil {
		return ""
	}
	return strings.Join(strings.Fields(r.Doc.Find(selector).Text()), " ")
}

// Part is one field of a multipart form: a file when FileName is set.
type Part struct {
	Name, FileName, Value string
	Body                  []byte // a file's content (Value is ignored then)
}

// PostMultipart posts a multipart/form-data form as a browser does: the
// CSRF token first, then parts in order, with a Content-Length.
func (c *Client) PostMultipart(path string, parts ...Part) *Response {
	c.t.Helper()
	body, contentType := c.Multipart(parts...)
	return c.Do(http.MethodPost, path, bytes.NewReader(body), contentType)
}

// Multipart is the body PostMultipart sends for parts, and its type.
func (c *Client) Multipart(parts ...Part) (body []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if c.csrf != "" {
		_ = w.WriteField("_csrf", c.csrf)
	}
	for _, p := range parts {
		if p.FileName == "" && p.Body == nil {
			_ = w.WriteField(p.Name, p.Value)
			continue
		}
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, p.Name, p.FileName))
		h.Set("Content-Type", "application/octet-stream")
		fw, err := w.CreatePart(h)
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write(p.Body)
	}
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// Stream opens a live stream (server-sent events) at path with the
// client's cookies and header and returns its lines, closed when the
// server ends the stream; the request ends with the test.
func (c *Client) Stream(path string, header http.Header) <-chan string {
	c.t.Helper()
	lines, err := c.TryStream(path, header)
	if err != nil {
		c.t.Fatal(err)
	}
	return lines
}

// TryStream is Stream from any goroutine (a page reconnecting its stream,
// as a browser's EventSource does): a stream that cannot be opened is an
// error, not fatal.
func (c *Client) TryStream(path string, header http.Header) (<-chan string, error) {
	ctx := context.Background()
	if tc, ok := c.t.(interface{ Context() context.Context }); ok {
		ctx = tc.Context()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		return nil, fmt.Errorf("the stream %s = %d %q", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, nil
}
