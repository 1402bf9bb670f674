package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of a request no named route answered: an
// unknown path, and a request that middleware answered before routing
// (a rate limit, CSRF, the body limit, a visitor sent to sign in).
const Unmatched = "unmatched"

// httpMetrics are the request families and a cache of their series.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu     sync.RWMutex
	series map[seriesKey]series
}

// seriesKey is one request series' labels. The strings are the route
// table's own (a route's Name or Path) and Fiber's method names.
type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	count prometheus.Counter
	time  prometheus.Observer
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route name, method and status code."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request (a live stream: until it starts), by route name, method and status class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route", "method", "status"}),
		series: map[seriesKey]series{},
	}
}

// Middleware counts and times every request by its route's name. It runs
// first, before recover, so that a panic is counted as the 500 it becomes;
// it hands a handler's error to the app's error handler itself, so the
// status it records is the one sent.
func (m *Metrics) Middleware() fiber.Handler {
	h := m.http
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		// The route is known only now, after routing.
		s := h.get(seriesKey{route: RouteLabel(c.Route()), method: c.Method(), status: c.Response().StatusCode()})
		s.count.Inc()
		s.time.Observe(time.Since(start).Seconds())
		return nil
	}
}

// get returns the series of k, making it the first time.
func (h *httpMetrics) get(k seriesKey) series {
	h.mu.RLock()
	s, ok := h.series[k]
	h.mu.RUnlock()
	if ok {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok = h.series[k]; !ok {
		s = series{count: h.requests.WithLabelValues(k.route, k.method, statusCode(k.status)),
			time: h.duration.WithLabelValues(k.route, k.method, statusClass(k.status))}
		h.series[k] = s
	}
	return s
}

// RouteLabel is a request's route label: the route's name, else its
// pattern; the middleware every request passes (path "/") is Unmatched.
// Security: never the path asked for, which holds ids (Fiber's stand-in
// for a request no route took, which has no handlers, carries that path).
func RouteLabel(r *fiber.Route) string {
	switch {
	case r == nil || len(r.Handlers) == 0:
		return Unmatched
	case r.Name != "":
		return r.Name
	case r.Path == "/" || r.Path == "":
		return Unmatched
	}
	return r.Path
}

// statusCode is a status's label: its code, or "other" outside 100–599.
func statusCode(s int) string {
	if s < 100 || s > 599 {
		return "other"
	}
	return strconv.Itoa(s)
}

// statusClass is "2xx" and so on, or "other".
func statusClass(s int) string {
	if s < 100 || s > 599 {
		return "other"
	}
	return strconv.Itoa(s/100) + "xx"
}
