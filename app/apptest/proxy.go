package apptest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// Proxy is one address in front of several app machines sharing one
// database, handing each request to the next machine in turn: a proxy
// with no sticky sessions, the worst case for state kept on a machine.
type Proxy struct {
	URL    string
	served []atomic.Int64 // requests each machine was given
}

// NewProxy starts a proxy in front of machines (made with the same DSN);
// it stops with the test.
func NewProxy(t testing.TB, machines ...*TestApp) *Proxy {
	p := &Proxy{served: make([]atomic.Int64, len(machines))}
	proxies := make([]*httputil.ReverseProxy, len(machines))
	for i, m := range machines {
		target, err := url.Parse(m.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxies[i] = &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Host = r.In.Host // the address the browser used
			},
			FlushInterval: -1, // live streams go through as they are written
		}
	}
	var next atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1)-1) % len(proxies)
		p.served[i].Add(1)
		proxies[i].ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Served is how many requests machine i was given.
func (p *Proxy) Served(i int) int64 { return p.served[i].Load() }

// Client returns a client of the proxy, with an empty cookie jar.
func (p *Proxy) Client(t testing.TB) *Client { return newClient(t, p.URL) }
