package app

import (
	"net"
	"sync"
)

// Serve answers requests on ln until Shutdown. Unless the portal is
// behind Fly's proxy (where every connection comes from the proxy, and
// fly.toml's concurrency limits stand in), one client address holds at
// most SlowLimits.PerIP connections; one more is closed at once.
//
// Security: with the time limits on a request's head and body, this is what
// stops one client holding the server's connections by trickling.
// (fasthttp's own MaxConnsPerIP is not used: its connection wrapper can be
// read after Close during a shutdown, and the process panics.)
func (a *App) Serve(ln net.Listener) error {
	if a.perIP > 0 {
		ln = &perIPListener{Listener: ln, max: a.perIP, open: map[string]int{}}
	}
	return a.App.Listener(ln)
}

// perIPListener counts open connections per remote IP.
type perIPListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		ok := l.open[ip] < l.max
		if ok {
			l.open[ip]++
		}
		l.mu.Unlock()
		if ok {
			return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		_ = c.Close()
	}
}

func (l *perIPListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// countedConn gives its place back once, on its first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release) // first: a client that sees the close may dial again at once
	return c.Conn.Close()
}
