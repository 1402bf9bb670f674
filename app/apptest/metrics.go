package apptest

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"portal/app/metrics"
)

// serveMetrics starts the metrics listener on addr as main does, until
// the test ends, and returns its URL; "" when metrics are off.
func serveMetrics(t testing.TB, addr string, m *metrics.Metrics) string {
	t.Helper()
	if addr == "" || m == nil {
		return ""
	}
	srv, err := metrics.Listen(addr, m)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv.URL()
}

// Families is one scrape: each metric family by name.
type Families map[string]*dto.MetricFamily

// Scrape reads the app's metrics over HTTP from its metrics listener, as
// Prometheus does, in the text format.
func (a *TestApp) Scrape(t testing.TB) Families {
	t.Helper()
	if a.MetricsURL == "" {
		t.Fatal("apptest: metrics are off (Configure: cfg.MetricsAddr = \"127.0.0.1:0\")")
	}
	res, err := http.Get(a.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s = %d", a.MetricsURL, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return fams
}

// Gather reads m's registry directly, for a package's own tests that have
// no listener.
func Gather(t testing.TB, m *metrics.Metrics) Families {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := Families{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// Value is the value of the series of family name whose labels include
// labels (a counter's, a gauge's, or a histogram's count), summed over the
// series that match; ok is false when none does.
func (f Families) Value(name string, labels map[string]string) (v float64, ok bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			v += m.Untyped.GetValue()
		}
	}
	return v, ok
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
