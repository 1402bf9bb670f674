package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where Server answers; every other path is a 404.
const Path = "/metrics"

// Server serves Path, and nothing else, on a listener of its own
// (METRICS_ADDR), never on the public port.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen opens addr (host:port; ":9091", or "127.0.0.1:0" in tests) for
// m's registry; Serve then answers on it until Shutdown.
func Listen(addr string, m *Metrics) (*Server, error) {
	if m == nil {
		return nil, errors.New("metrics: Listen needs Metrics")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		// A family that fails (the job queue's query) is left out; the rest
		// are still served.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             2 * scrapeTimeout,
	}))
	return &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second}}, nil
}

// Addr is the address listened on (the port chosen, for ":0").
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the metrics' URL on that address, for tests.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + Path }

// Serve answers until Shutdown, which makes it return nil.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Shutdown stops the listener and waits for scrapes under way (until ctx ends).
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
