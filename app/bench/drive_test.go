package bench

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// newClient is one load generator's HTTP client: connections kept alive,
// redirects not followed, bodies taken as sent (compressed).
func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 2 * time.Minute,
	}
}

// request is one request a load client sends again and again.
type request struct {
	url    string
	cookie string // the session cookie's value, if signed in
	want   int    // the status it must answer
	htmx   bool   // asked by HTMX, for the page's fragment
}

func (r request) do(c *http.Client) (int, error) {
	req, err := http.NewRequest(http.MethodGet, r.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Encoding", "br, gzip") // as browsers send it
	if r.htmx {
		req.Header.Set("HX-Request", "true")
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "portal_session", Value: r.cookie})
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != r.want {
		return int(n), fmt.Errorf("%s: status %d, want %d", r.url, res.StatusCode, r.want)
	}
	return int(n), nil
}

// result is what a load phase measured.
type result struct {
	n    int
	errs int
	err  error // the first error
	took time.Duration
	lat  []time.Duration
	cpu  time.Duration // the server's CPU time over the phase
}

func (r result) rps() float64 { return float64(r.n) / r.took.Seconds() }

// cpuPer is the server's CPU time per request.
func (r result) cpuPer() time.Duration {
	if r.n == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.n)
}

// pct is the p-th percentile latency (p in 0..100).
func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// drive runs clients closed-loop clients against srv for d: client i
// sends reqs[i % len(reqs)] until the time is up.
func drive(srv *proc, client *http.Client, clients int, d time.Duration, reqs []request) result {
	var mu sync.Mutex
	var res result
	cpu0 := srv.cpu()
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := reqs[i%len(reqs)]
			var lat []time.Duration
			var errs int
			var first error
			for time.Now().Before(stop) {
				t := time.Now()
				if _, err := r.do(client); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errs += errs
			if res.err == nil {
				res.err = first
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	res.took = time.Since(start)
	res.cpu = srv.cpu() - cpu0
	res.n = len(res.lat)
	return res
}

// median of xs.
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
